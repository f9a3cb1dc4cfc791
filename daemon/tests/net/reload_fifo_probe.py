"""Run inside ``unshare --net`` (root): fifo_write_vrrp_states_on_reload with a real fifo.

Start (VI_1 and VI_2 in sync group G, backups), then reloads that add an instance, with and
without the keyword; what the fifo received after each.  argv[1]: a scratch directory.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from pykeepalived.config.loader import loads_config
from pykeepalived.config.model import Config
from pykeepalived.vrrp.manager import VrrpManager


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def config(fifo: Path, flag: bool, extra: tuple[int, ...]) -> Config:
    instances = "".join(f"""vrrp_instance VI_{n} {{
    interface d0
    virtual_router_id {50 + n}
    priority {100 + n}
    advert_int 5
    virtual_ipaddress {{
        192.0.2.{n}/24
    }}
}}
""" for n in (1, 2, *extra))
    text = (f"global_defs {{\n    vrrp_notify_fifo {fifo}\n{'    fifo_write_vrrp_states_on_reload' if flag else ''}\n}}\n"
            f"vrrp_sync_group G {{\n    group {{\n        VI_1\n        VI_2\n    }}\n}}\n{instances}")
    parsed, diags = loads_config(text)
    assert not diags.errors, [str(e) for e in diags.errors]
    return parsed


def drain(fd: int) -> list[str]:
    try:
        return os.read(fd, 65536).decode().splitlines()
    except BlockingIOError:
        return []


async def main(scratch: str) -> dict:
    ip("link", "add", "d0", "type", "veth", "peer", "name", "d1")
    ip("addr", "add", "192.0.2.11/24", "dev", "d0")
    ip("link", "set", "d0", "up")
    ip("link", "set", "d1", "up")
    fifo = Path(scratch) / "vrrp.fifo"
    first = config(fifo, True, ())
    manager = VrrpManager(first, Path(scratch) / "state")
    await manager.apply(first)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    await asyncio.sleep(0.2)
    out = {"start": drain(reader)}
    await manager.apply(config(fifo, True, (3,)))
    await asyncio.sleep(0.2)
    out["reload_with"] = drain(reader)
    await manager.apply(config(fifo, False, (3, 4)))
    await asyncio.sleep(0.2)
    out["reload_without"] = drain(reader)
    await manager.stop()
    os.close(reader)
    return out


if __name__ == "__main__":
    json.dump(asyncio.run(main(sys.argv[1])), sys.stdout)
