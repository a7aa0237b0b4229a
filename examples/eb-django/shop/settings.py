"""Production settings of the shop, as a Beanstalk Django project has them.

The app sits behind Elastic Beanstalk's load balancer and the instance's nginx:
it trusts X-Forwarded-Proto from the load balancer, redirects plain HTTP to
HTTPS, and answers only the names in DJANGO_ALLOWED_HOSTS (an environment
property of .ebextensions/01_django.config). That is what makes the load
balancer's health check fail (README.md):

  as shipped          the check's Host is the instance's private IP, which
                      ALLOWED_HOSTS lacks                          -> 400
  ALLOW_INSTANCE_IP=1 the private IP, read from the instance metadata
                      service, is added to ALLOWED_HOSTS; /health/ is
                      exempt from the HTTPS redirect               -> 200, Ok
"""
import ipaddress
import os
import sys
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = False
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "elbow-example-not-a-secret")

# The public name(s), comma-separated, from the environment property.
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "www.example.com").split(",") if h.strip()]

# Users reach the site over HTTPS at the load balancer, which forwards plain
# HTTP with X-Forwarded-Proto: https; anything else is redirected.
SECURE_SSL_REDIRECT = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The health check is plain HTTP with no X-Forwarded-Proto: exempt its path,
# or it gets 301 (Django matches the path without its leading slash).
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = 3600
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.staticfiles",
    "shop",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# SQLite in the app folder, so that migrate works with no database server.
# Each instance has its own copy of the app, and so its own database: only
# the leader's is migrated (01_migrate is leader_only). Real projects use RDS.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

# Beanstalk's Python platform has nginx serve the folder static/ at /static/.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"

# With DEBUG off, Django sends DisallowedHost only to mail_admins. Print it to
# stderr, so that web.stdout.log shows "Invalid HTTP_HOST header: ..." as the
# instance's log of a real deployment should.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.security": {"handlers": ["console"], "level": "ERROR"},
        "django.request": {"handlers": ["console"], "level": "ERROR"},
    },
}


def instance_private_ip(timeout=0.5):
    """The instance's private IPv4 from the metadata service (IMDSv2), or None.

    The endpoint is AWS_EC2_METADATA_SERVICE_ENDPOINT when set (the AWS SDKs'
    variable; elbow sets it for every instance), else the address every EC2
    instance has. It asks for a session token first (IMDSv2, which also works
    where v1 is turned off), uses short timeouts so that a missing service
    cannot stall start-up, ignores any HTTP proxy, and accepts the answer only
    if it is 200 and an IP address, so that an error page never lands in
    ALLOWED_HOSTS.
    """
    endpoint = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254").rstrip("/")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        token_request = urllib.request.Request(
            endpoint + "/latest/api/token",
            method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
        )
        with opener.open(token_request, timeout=timeout) as response:
            if response.status != 200:
                return None
            token = response.read().decode("ascii").strip()
        ip_request = urllib.request.Request(
            endpoint + "/latest/meta-data/local-ipv4",
            headers={"X-aws-ec2-metadata-token": token},
        )
        with opener.open(ip_request, timeout=timeout) as response:
            if response.status != 200:
                return None
            ip = response.read().decode("ascii").strip()
        return str(ipaddress.ip_address(ip))
    except (OSError, ValueError, UnicodeDecodeError):
        # URLError, HTTPError and socket timeouts are all OSErrors.
        return None


if os.environ.get("ALLOW_INSTANCE_IP", "").lower() in ("1", "true", "yes"):
    _ip = instance_private_ip()
    if _ip:
        ALLOWED_HOSTS.append(_ip)
    else:
        print("shop: ALLOW_INSTANCE_IP is set but the metadata service gave no local-ipv4", file=sys.stderr)
