"""A Flask app that allows only its public name (PUBLIC_HOST) in a
before_request hook, logging the Host it refuses, as Flask 2.2 apps do
without TRUSTED_HOSTS."""
import os

from flask import Flask, abort, request

app = Flask(__name__)
ALLOWED_HOSTS = {os.environ["PUBLIC_HOST"]}


@app.before_request
def check_host():
    if request.host.split(":")[0] not in ALLOWED_HOSTS:
        app.logger.warning("Refused Host header %s", request.host)
        abort(400)
    return None


@app.route("/health")
def health():
    return "ok"
