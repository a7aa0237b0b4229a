"""The reference story's fix as it is published, unchanged: production settings
that ask the EC2 metadata service for the instance's private IP at the address
every EC2 instance has, 169.254.169.254, and allow it as a host.

This is the snippet of the Django-behind-ELB answers (Stack Overflow's "Django
ALLOWED_HOSTS with ELB HealthCheck", https://dryan.com/articles/elb-django-allowed-hosts/).
It cannot work under elbow's default network mode, loopback, where an instance's
metadata service is at 127.0.0.N:1338 and the address is hard-coded here: run it
with `elbow up --network vpc` (instances.network: vpc), where each instance has
a 172.31.x.y address and its metadata service at 169.254.169.254, as on EC2.
"""
from shop.settings import *  # noqa: F401,F403 the production settings, then the fix

import requests

EC2_PRIVATE_IP = None
try:
    EC2_PRIVATE_IP = requests.get('http://169.254.169.254/latest/meta-data/local-ipv4', timeout=0.01).text
except requests.exceptions.ConnectionError:
    pass

if EC2_PRIVATE_IP:
    ALLOWED_HOSTS.append(EC2_PRIVATE_IP)
