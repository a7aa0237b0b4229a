"""A Flask app without Talisman that redirects plain HTTP to HTTPS in its
own before_request hook, trusting X-Forwarded-Proto through ProxyFix; its
health route is /healthz."""
from flask import Flask, redirect, request
from werkzeug.middleware.proxy_fix import ProxyFix

app = Flask(__name__)
app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)


@app.before_request
def redirect_to_https():
    if not request.is_secure:
        return redirect(request.url.replace("http://", "https://", 1), code=301)
    return None


@app.route("/healthz")
def healthz():
    return "ok"


@app.route("/")
def index():
    return "shop"
