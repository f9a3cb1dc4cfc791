"""Lab client: ``fetch URL N [SOURCE...]`` prints who answered each of N new connections
(round-robin over the source addresses); ``stream URL`` prints each line as it arrives;
``probe URL INTERVAL`` opens a new connection every INTERVAL seconds until its stdin closes and
prints one line per attempt: its start time (epoch seconds) and who answered, or ERR-<exception>."""

from __future__ import annotations

import http.client
import select
import sys
import time
from urllib.parse import urlparse


def get(url: str, source: str | None, timeout: float = 3) -> http.client.HTTPResponse:
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    conn.request("GET", u.path + ("?" + u.query if u.query else ""))
    return conn.getresponse()


def probe(url: str, interval: float) -> None:
    start = time.monotonic()
    tick = 0
    while not select.select([sys.stdin], [], [], 0)[0]:  # readable: EOF, the caller is done
        t = time.time()
        try:
            who = get(url, None, timeout=2).read().decode().strip()
        except Exception as exc:
            who = "ERR-" + type(exc).__name__
        print(f"{t:.3f} {who}", flush=True)
        tick += 1
        time.sleep(max(0.0, start + tick * interval - time.monotonic()))  # one attempt per interval


def main() -> None:
    mode, url = sys.argv[1], sys.argv[2]
    if mode == "stream":
        resp = get(url, None, timeout=20)
        for line in resp:
            print(line.decode().strip(), flush=True)
        print("END", flush=True)
        return
    if mode == "probe":
        probe(url, float(sys.argv[3]))
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
