"""The reference app's settings (examples/django/shop/settings.py) with the
instance-IP lookups that people deploy, for the diagnosis's tests.

SHOP_IMDS_LOOKUP picks one:

  hardcoded    the widely published snippet, as published: hard-coded
               http://169.254.169.254, timeout=0.01, ConnectionError caught
               (https://dryan.com/articles/elb-django-allowed-hosts/)
  endpoint-v1  the same snippet with the address read from
               AWS_EC2_METADATA_SERVICE_ENDPOINT: IMDSv1, no token, the
               status not checked
"""
import os

from shop.settings import *  # noqa: F401,F403

_lookup = os.environ.get("SHOP_IMDS_LOOKUP")

if _lookup == "hardcoded":
    import requests

    EC2_PRIVATE_IP = None
    try:
        EC2_PRIVATE_IP = requests.get('http://169.254.169.254/latest/meta-data/local-ipv4', timeout=0.01).text
    except requests.exceptions.ConnectionError:
        pass

    if EC2_PRIVATE_IP:
        ALLOWED_HOSTS.append(EC2_PRIVATE_IP)  # noqa: F405

elif _lookup == "endpoint-v1":
    import requests

    EC2_PRIVATE_IP = None
    try:
        # A longer timeout than the snippet's 0.01 s: the test must not
        # depend on how fast a loaded machine answers.
        EC2_PRIVATE_IP = requests.get(os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] + '/latest/meta-data/local-ipv4', timeout=2).text
    except requests.exceptions.ConnectionError:
        pass

    if EC2_PRIVATE_IP:
        ALLOWED_HOSTS.append(EC2_PRIVATE_IP)  # noqa: F405

else:
    raise RuntimeError("SHOP_IMDS_LOOKUP must be hardcoded or endpoint-v1, not %r" % _lookup)
