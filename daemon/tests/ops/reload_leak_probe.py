"""Run inside ``unshare --net`` (root): what N changing reloads leave behind in VrrpManager.

Two configs that differ in one instance's priority, applied in turn with real
sockets on a veth: every apply replaces VI_1, which tracks a vrrp_script (kept
across the reloads, so its tracker outlives each VI_1), its own interface and
a link that is down (which VI_2 watches too, so the link stays watched).  Prints the listener counts and live objects (issue 16:
each replaced instance stayed reachable from the trackers' listener lists).
"""
from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import tempfile

from pykeepalived.config.loader import loads_config
from pykeepalived.config.model import Config
from pykeepalived.vrrp.instance import Instance
from pykeepalived.vrrp.manager import VrrpManager

RELOADS = 30


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def config(priority: int) -> Config:
    text = f"""vrrp_script chk {{
    script "/bin/true"
    interval 5
}}
vrrp_instance VI_1 {{
    interface d0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        192.0.2.100/24
    }}
    track_script {{
        chk
    }}
    track_interface {{
        d9
    }}
}}
vrrp_instance VI_2 {{
    interface d0
    virtual_router_id 52
    priority 100
    advert_int 1
    virtual_ipaddress {{
        192.0.2.101/24
    }}
    track_script {{
        chk
    }}
    track_interface {{
        d9
    }}
}}
"""
    parsed, diags = loads_config(text)
    assert not diags.errors, [str(e) for e in diags.errors]
    return parsed


async def dumped(manager: VrrpManager) -> None:
    """Until the link dump a start or reload schedules has run (it reports d9 down)."""
    for _ in range(500):
        await asyncio.sleep(0.01)
        if manager.links._pending is None:
            return


async def main() -> dict:
    ip("link", "add", "d0", "type", "veth", "peer", "name", "d1")
    ip("link", "add", "d9", "type", "veth", "peer", "name", "d8")  # tracked, and left down
    ip("addr", "add", "192.0.2.11/24", "dev", "d0")
    ip("link", "set", "d0", "up")
    ip("link", "set", "d1", "up")
    configs = [config(100), config(101)]
    manager = VrrpManager(configs[0], tempfile.mkdtemp(prefix="reload-leak-"))
    await manager.apply(configs[0])
    await dumped(manager)
    out: dict = {"first": manager.instances["VI_1"].router.state.value}
    for i in range(RELOADS):
        moved = await manager.apply(configs[(i + 1) % 2])
        assert moved["changed"] == ["VI_1"], moved
    await dumped(manager)
    out["reloaded"] = manager.instances["VI_1"].router.state.value
    gc.collect()
    out["link_listeners"] = {name: len(cbs) for name, cbs in manager.links._listeners.items()}
    out["script_listeners"] = {name: len(t._listeners) for name, t in manager.scripts.items()}
    out["instances_alive"] = sum(isinstance(o, Instance) for o in gc.get_objects())
    await manager.stop()
    return out


if __name__ == "__main__":
    json.dump(asyncio.run(main()), sys.stdout)
