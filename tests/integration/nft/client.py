"""Lab client: ``fetch URL N [SOURCE...]`` prints who answered each of N new connections
(round-robin over the source addresses); ``stream URL`` prints each line as it arrives."""

from __future__ import annotations

import http.client
import sys
from urllib.parse import urlparse


def get(url: str, source: str | None, timeout: float = 3) -> http.client.HTTPResponse:
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    conn.request("GET", u.path + ("?" + u.query if u.query else ""))
    return conn.getresponse()


def main() -> None:
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "stream":
        resp = get(url, None, timeout=20)
        for line in resp:
            print(line.decode().strip(), flush=True)
        print("END", flush=True)
        return
    n, sources = int(sys.argv[3]), sys.argv[4:] or [None]
    out = []
    for i in range(n):
        src = sources[i % len(sources)]
        try:
            out.append(get(url, src).read().decode().strip())
        except Exception as exc:
            out.append("ERR-" + type(exc).__name__)
    print(" ".join(out))


main()
