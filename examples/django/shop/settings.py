"""Settings of the reference-scenario app, configured as it would be in production.

The app sits behind an HTTPS load balancer: it trusts X-Forwarded-Proto from the
load balancer, redirects plain HTTP to HTTPS and answers only its public name.
That is exactly what makes the ELB health check fail (see README.md):

  step 1  ALLOWED_HOSTS has only the public name; the health check sends
          Host: <instance private IP>:<port>               -> 400
  step 2  ALLOW_INSTANCE_IP=1 adds the private IP, read from the instance
          metadata service; the check carries no X-Forwarded-Proto, so
          SECURE_SSL_REDIRECT answers it                    -> 301
  step 3  the target group's matcher becomes 200-301        -> healthy
"""
import ipaddress
import os
import urllib.error
import urllib.request

DEBUG = False
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "elbow-example-not-a-secret")

ALLOWED_HOSTS = ["www.example.com"]

SECURE_SSL_REDIRECT = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The health endpoint answers over plain HTTP; "/" still redirects.
SECURE_REDIRECT_EXEMPT = [r"^health$"]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
INSTALLED_APPS = []
DATABASES = {}
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
USE_TZ = True

# Django logs DisallowedHost only to mail_admins when DEBUG is off; print it, so
# that the instance's log says which Host was refused, as a real deployment's should.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.security": {"handlers": ["console"], "level": "ERROR"}},
}


def instance_private_ip(timeout=0.5):
    """The instance's private IPv4 from the metadata service (IMDSv2), or None.

    It asks for a session token first (IMDSv2, which also works where v1 is
    turned off), uses short timeouts so that a missing service cannot stall
    start-up, ignores any HTTP proxy (a proxy adding X-Forwarded-For gets the
    token PUT refused), and accepts the answer only if it is 200 and an IP
    address, so that an error page never lands in ALLOWED_HOSTS.
    """
    endpoint = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254")
    endpoint = endpoint.rstrip("/")
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


if os.environ.get("ALLOW_INSTANCE_IP") == "1":
    _ip = instance_private_ip()
    if _ip:
        ALLOWED_HOSTS.append(_ip)
    else:
        import sys

        print("shop: ALLOW_INSTANCE_IP=1 but the metadata service gave no local-ipv4", file=sys.stderr)
