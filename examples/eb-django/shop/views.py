import os

from django.http import HttpResponse


def home(request):
    instance = os.environ.get("ELBOW_INSTANCE_ID", "local")
    return HttpResponse(f"Hello from the shop on {instance}.\n", content_type="text/plain")


def health(request):
    # Touches neither the database nor anything else: it says the web process
    # answers, which is what the load balancer's check is for.
    return HttpResponse("ok\n", content_type="text/plain")
