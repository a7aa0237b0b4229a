"""A tiny app for end-to-end tests: it answers 400 while the file named by
$BROKEN_FILE exists, 200 otherwise, on $HOST:$PORT."""
import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 400 if os.path.exists(os.environ["BROKEN_FILE"]) else 200
        body = b"Bad Request (400)" if code == 400 else b"ok"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Handler).serve_forever()
