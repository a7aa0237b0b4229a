"""A Flask app with SERVER_NAME set to its public name (PUBLIC_HOST), as
apps that build external URLs with url_for set it."""
import os

from flask import Flask

app = Flask(__name__)
app.config["SERVER_NAME"] = os.environ["PUBLIC_HOST"]


@app.route("/health")
def health():
    return "ok"


@app.route("/")
def index():
    return "shop"
