"""Run inside ``unshare --net`` (root): a VrrpManager of three instances on a veth, real sockets.

Prints the status parts as the instances start, after VI_1 and VI_2 became
master ("state MASTER": after one interval) and after a reload that drops
VI_3; and how many timerfds the process holds (the instances share one).
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile

from pykeepalived.config.loader import loads_config
from pykeepalived.config.model import Config
from pykeepalived.vrrp.manager import VrrpManager


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def config(vrids: list[int]) -> Config:
    text = "".join(f"""vrrp_instance VI_{v} {{
    state {"MASTER" if v < 3 else "BACKUP"}
    interface d0
    virtual_router_id {v}
    priority {200 if v < 3 else 100}
    advert_int 1
    virtual_ipaddress {{
        192.0.2.{100 + v}/24
    }}
}}
""" for v in vrids)
    parsed, diags = loads_config(text)
    assert not diags.errors, [str(e) for e in diags.errors]
    return parsed


def timerfds() -> int:
    fds = os.listdir("/proc/self/fd")
    return sum(os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[timerfd]" for fd in fds
               if os.path.exists(f"/proc/self/fd/{fd}"))


async def main() -> dict:
    ip("link", "add", "d0", "type", "veth", "peer", "name", "d1")
    ip("addr", "add", "192.0.2.11/24", "dev", "d0")
    ip("link", "set", "d0", "up")
    ip("link", "set", "d1", "up")
    manager = VrrpManager(config([1, 2, 3]), tempfile.mkdtemp(prefix="status-probe-"))
    await manager.apply(config([1, 2, 3]))
    out: dict = {"started": list(manager.status_parts()), "timerfds": timerfds()}
    for _ in range(300):
        await asyncio.sleep(0.01)
        if manager.instances["VI_2"].router.state.value == "master":
            break
    out["masters"] = list(manager.status_parts())
    out["same_object_while_unchanged"] = manager.status_parts() is manager.status_parts()
    await manager.apply(config([1, 2]))
    out["reloaded"] = list(manager.status_parts())
    await manager.stop()
    out["timerfds_after_stop"] = timerfds()
    return out


if __name__ == "__main__":
    json.dump(asyncio.run(main()), sys.stdout)
