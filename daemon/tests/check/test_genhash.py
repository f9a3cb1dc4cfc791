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


def test_pykeepalivedctl_genhash_subcommand(capsys):
    from pykeepalived.cli import ctl_main

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = str(server.server_address[1])
        assert ctl_main(["genhash", "-s", "127.0.0.1", "-p", port, "-u", "/ok"]) == 0
        assert capsys.readouterr().out.strip() == f"MD5SUM = {hashlib.md5(BODY).hexdigest()}"
        assert ctl_main(["genhash", "-s", "127.0.0.1", "-p", port, "-u", "/missing", "-v"]) == 0
        assert capsys.readouterr().out.splitlines()[0] == f"HTTP status 404, {len(BODY)} body bytes"
    finally:
        server.shutdown()
        server.server_close()
    assert ctl_main(["genhash", "-s", "127.0.0.1", "-p", str(free_port()), "-u", "/"]) == 1
    assert "genhash:" in capsys.readouterr().err
