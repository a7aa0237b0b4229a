"""A Flask app secured with Flask-Talisman's defaults (force_https=True),
whose health route is /healthz. EXEMPT_HEALTHZ=1 applies the fix elbow
offers: @talisman(force_https=False) on that view."""
import os

from flask import Flask
from flask_talisman import Talisman

app = Flask(__name__)
talisman = Talisman(app)


def exempt(view):
    if os.environ.get("EXEMPT_HEALTHZ") == "1":
        return talisman(force_https=False)(view)
    return view


@app.route("/healthz")
@exempt
def healthz():
    return "ok"


@app.route("/")
def index():
    return "shop"
