"""A real server for the daemon's UML tests (python http.server).

``GET /`` answers the server's name; ``GET /slow?s=N`` answers it as the
first chunk of a chunked response that then trickles one chunk every 0.2 s
for N seconds: a long-running connection to drain. ``&until=PATH`` ends it
as soon as PATH exists (N bounds it): the test decides when it closes, not a
timer racing the test's own steps.
"""

from __future__ import annotations

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

NAME = sys.argv[1]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlparse(self.path)
        self.close_connection = True
        if url.path != "/slow":
            body = f"{NAME}\n".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            return
        query = parse_qs(url.query)
        seconds = float(query.get("s", ["4"])[0])
        until = Path(query["until"][0]) if "until" in query else None
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self._chunk(f"{NAME}\n".encode())
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until.exists()):
            time.sleep(0.2)
            self._chunk(b".")
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2])), Handler).serve_forever()
