"""A FastAPI app behind Starlette's HTTPSRedirectMiddleware. EXEMPT_HEALTH=1
applies the fix elbow offers: a subclass that lets /health through."""
import os

from fastapi import FastAPI
from fastapi.middleware.httpsredirect import HTTPSRedirectMiddleware


class HTTPSRedirectMiddlewareExceptHealth(HTTPSRedirectMiddleware):
    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/health":
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


app = FastAPI()
if os.environ.get("EXEMPT_HEALTH") == "1":
    app.add_middleware(HTTPSRedirectMiddlewareExceptHealth)
else:
    app.add_middleware(HTTPSRedirectMiddleware)


@app.get("/health")
def health():
    return {"status": "ok"}
