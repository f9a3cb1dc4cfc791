"""A tiny HTTP real server for the lab: ``GET /`` answers its name; ``GET /stream?n=N&d=S``
sends N lines, one every S seconds (a long-running connection for drain tests)."""

from __future__ import annotations

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

NAME = sys.argv[1]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlparse(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        if url.path != "/stream":
            self.wfile.write(f"{NAME}\n".encode())
            return
        q = parse_qs(url.query)
        n, d = int(q.get("n", ["10"])[0]), float(q.get("d", ["0.2"])[0])
        for i in range(n):
            self.wfile.write(f"{NAME} {i}\n".encode())
            self.wfile.flush()
            time.sleep(d)

    def log_message(self, *args: object) -> None:
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 128  # the default 5 drops SYNs under load (1 s retransmits)
ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2]) if len(sys.argv) > 2 else 8080), Handler).serve_forever()
