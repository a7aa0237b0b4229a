"""A tiny app for end-to-end tests: it answers 400 while the file named by
$BROKEN_FILE exists, 200 otherwise, on $HOST:$PORT; /slow answers after 2 s."""
import http.server
import os
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/slow":
            time.sleep(2)
        code = 400 if os.path.exists(os.environ.get("BROKEN_FILE", "/nonexistent")) else 200
        body = b"Bad Request (400)" if code == 400 else b"ok"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Handler).serve_forever()
