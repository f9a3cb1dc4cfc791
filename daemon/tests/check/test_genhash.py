"""genhash against a real HTTP server in a thread (the CLI runs its own event loop)."""

import hashlib
import http.server
import threading

from pykeepalived.check.genhash import main

from .helpers import free_port

BODY = b"<html>genhash</html>\n"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/ok" else 404)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


def test_genhash_prints_md5_of_body(capsys):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = str(server.server_address[1])
        assert main(["-s", "127.0.0.1", "-p", port, "-u", "/ok", "-V", "www.example.test"]) == 0
    finally:
        server.shutdown()
        server.server_close()
    assert capsys.readouterr().out.strip() == f"MD5SUM = {hashlib.md5(BODY).hexdigest()}"


def test_genhash_unreachable_is_an_error(capsys):
    assert main(["-s", "127.0.0.1", "-p", str(free_port()), "-u", "/"]) == 1
    assert "genhash:" in capsys.readouterr().err
