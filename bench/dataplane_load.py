"""Load generator for bench/dataplane.py (runs inside the lab's client netns).

    python dataplane_load.py URL_HOST PORT SECONDS CONCURRENCY
A new TCP connection per request (HTTP/1.0 GET /), CONCURRENCY at a time, for
SECONDS; prints JSON {"requests", "errors", "rps", "p50_ms", "p99_ms"}.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def worker(host: str, port: int, until: float, lat: list[float], errors: list[int]) -> None:
    req = f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode()
    while time.monotonic() < until:
        t0 = time.perf_counter()
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 3)
            w.write(req)
            await asyncio.wait_for(r.read(), 3)
            w.close()
            lat.append(time.perf_counter() - t0)
        except (TimeoutError, OSError):
            errors[0] += 1


async def main(host: str, port: int, seconds: float, conc: int) -> dict:
    lat: list[float] = []
    errors = [0]
    t0 = time.monotonic()
    await asyncio.gather(*(worker(host, port, t0 + seconds, lat, errors) for _ in range(conc)))
    took = time.monotonic() - t0
    lat.sort()
    pick = (lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 2)) if lat else (lambda q: None)
    return {"requests": len(lat), "errors": errors[0], "rps": round(len(lat) / took), "p50_ms": pick(0.5),
            "p99_ms": pick(0.99)}


if __name__ == "__main__":
    h, p, s, c = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(asyncio.run(main(h, p, s, c))))
