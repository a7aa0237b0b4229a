"""A FastAPI app behind Starlette's TrustedHostMiddleware, allowing only its
public name (PUBLIC_HOST). ALLOW_INSTANCE_IP=1 applies the fix elbow offers:
the instance's private IP from the metadata service in allowed_hosts."""
import ipaddress
import os
import urllib.request

from fastapi import FastAPI
from fastapi.middleware.trustedhost import TrustedHostMiddleware


def instance_private_ip(timeout=0.5):
    endpoint = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254").rstrip("/")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        token_request = urllib.request.Request(endpoint + "/latest/api/token", method="PUT",
                                               headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        with opener.open(token_request, timeout=timeout) as response:
            if response.status != 200:
                return None
            token = response.read().decode("ascii").strip()
        ip_request = urllib.request.Request(endpoint + "/latest/meta-data/local-ipv4",
                                            headers={"X-aws-ec2-metadata-token": token})
        with opener.open(ip_request, timeout=timeout) as response:
            if response.status != 200:
                return None
            return str(ipaddress.ip_address(response.read().decode("ascii").strip()))
    except (OSError, ValueError):
        return None


app = FastAPI()
allowed_hosts = [os.environ["PUBLIC_HOST"]]
if os.environ.get("ALLOW_INSTANCE_IP") == "1":
    _ip = instance_private_ip()
    if _ip:
        allowed_hosts.append(_ip)
app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)


@app.get("/health")
def health():
    return {"status": "ok"}
