package diagnose

// pythonInstanceIP is a Python function reading the instance's private IPv4
// from the metadata service with IMDSv2, a token first ("How Instance
// Metadata Service Version 2 works",
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-v2-how-it-works.html),
// from AWS_EC2_METADATA_SERVICE_ENDPOINT as the AWS SDKs read it. Flask and
// Starlette apps allow the IP it returns as a host, and Django's snippet is
// built from it.
const pythonInstanceIP = `import ipaddress, os, urllib.request

def instance_private_ip(timeout=0.5):
    """The instance's private IPv4 from the metadata service (IMDSv2), or None."""
    endpoint = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254").rstrip("/")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
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
    except (OSError, ValueError):  # URLError, HTTPError, timeouts; not an IP
        return None`

// pythonIMDSTradeOff is the cost of reading the IP at start-up.
const pythonIMDSTradeOff = "The IP is read once, at start-up, per instance: it works on EC2 and Elastic Beanstalk, and under elbow, which gives every instance its own metadata service in AWS_EC2_METADATA_SERVICE_ENDPOINT. " +
	"If the service does not answer within the short timeouts the app starts without the IP and the checks fail again. In a container, the IMDSv2 token needs the instance's HttpPutResponseHopLimit raised to 2."
