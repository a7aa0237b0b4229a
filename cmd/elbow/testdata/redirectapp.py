"""A tiny app for end-to-end tests that behaves as Django with
SECURE_SSL_REDIRECT = True behind a load balancer: a request without
X-Forwarded-Proto: https (the health check) gets 301 to the https:// URL,
one with it gets 200. It listens on $HOST:$PORT."""
import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.headers.get("X-Forwarded-Proto") == "https":
            body = b"ok"
            self.send_response(200)
        else:
            body = b""
            self.send_response(301)
            self.send_header("Location", "https://%s%s" % (self.headers.get("Host", ""), self.path))
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Handler).serve_forever()
