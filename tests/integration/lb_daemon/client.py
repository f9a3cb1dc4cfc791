"""The client's side: ``client.py URL N`` prints who answered each of N requests;
``client.py --slow URL OUT`` streams one slow response into OUT (``DONE`` at its end)."""

from __future__ import annotations

import sys
import urllib.request


def fetch(url: str, n: int) -> None:
    out = []
    for _ in range(n):
        try:
            out.append(urllib.request.urlopen(url, timeout=3).read().decode().strip())
        except Exception as exc:  # noqa: BLE001 (an answer of its own kind)
            out.append("ERR " + type(exc).__name__)
    print(" ".join(out))


def slow(url: str, path: str) -> None:
    with open(path, "w") as out, urllib.request.urlopen(url, timeout=30) as resp:
        out.write(resp.readline().decode())
        out.flush()
        rest = resp.read()  # until the last chunk
        out.write(f"{len(rest)} bytes\nDONE\n")


if __name__ == "__main__":
    if sys.argv[1] == "--slow":
        slow(sys.argv[2], sys.argv[3])
    else:
        fetch(sys.argv[1], int(sys.argv[2]))
