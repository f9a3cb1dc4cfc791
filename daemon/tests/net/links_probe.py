"""Run inside ``unshare --net`` (root): LinkWatcher reports carrier changes from link events."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from pykeepalived.net.links import LinkWatcher


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


async def settle(seen: list, count: int) -> None:
    for _ in range(200):  # up to 2 s for the kernel's events
        if len(seen) >= count:
            return
        await asyncio.sleep(0.01)


async def main() -> dict:
    ip("link", "add", "d0", "type", "veth", "peer", "name", "d1")
    ip("link", "set", "d0", "up")
    ip("link", "set", "d1", "up")
    w = LinkWatcher()
    seen: list = []
    w.watch("d0", lambda up: seen.append(["d0", up]))
    w.state["d0"] = False  # so the start-up dump reports "up" once
    w.start()
    await settle(seen, 1)
    out = {"initial": list(seen)}
    seen.clear()
    ip("link", "set", "d1", "down")  # d0 loses its carrier
    await settle(seen, 1)
    ip("link", "set", "d1", "up")
    await settle(seen, 2)
    ip("link", "del", "d0")
    await settle(seen, 3)
    out["events"] = list(seen)
    late: list = []
    ip("link", "add", "d1", "type", "veth", "peer", "name", "d2")  # d1 went with d0; d1 is down here
    w.watch("d1", lambda up: late.append(["d1", up]))
    w.start()
    await settle(late, 1)
    out["late_watch"] = late
    await w.stop()
    return out


if __name__ == "__main__":
    json.dump(asyncio.run(main()), sys.stdout)
