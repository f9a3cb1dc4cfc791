"""Run inside ``unshare --net`` (root): a sync group member's own failing weighted vrrp_script,
with and without the group's ``sync_group_tracking_weight``: priority moved, or FAULT.
argv[1]: the state directory."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from pykeepalived.config.loader import loads_config
from pykeepalived.vrrp.manager import VrrpManager


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def text(flag: bool) -> str:
    return f"""vrrp_script down {{
    script "/bin/false"
    interval 1
    weight -20
}}
vrrp_sync_group G {{
    group {{
        VI_1
    }}
{"    sync_group_tracking_weight" if flag else ""}
}}
vrrp_instance VI_1 {{
    interface d0
    virtual_router_id 51
    priority 100
    advert_int 5
    virtual_ipaddress {{
        192.0.2.100/24
    }}
    track_script {{
        down
    }}
}}
"""


async def run(flag: bool, state_dir: str) -> dict:
    config, diags = loads_config(text(flag))
    assert not diags.errors, [str(e) for e in diags.errors]
    manager = VrrpManager(config, state_dir)
    await manager.apply(config)
    router = manager.instances["VI_1"].router
    for _ in range(100):  # the script's first run, up to 5 s
        await asyncio.sleep(0.05)
        if router.priority != 100 or router.state.value.upper() == "FAULT":
            break
    got = {"state": router.state.value.upper(), "priority": router.priority}
    await manager.stop()
    return got


async def main(state_dir: str) -> dict:
    ip("link", "add", "d0", "type", "veth", "peer", "name", "d1")
    ip("addr", "add", "192.0.2.11/24", "dev", "d0")
    ip("link", "set", "d0", "up")
    ip("link", "set", "d1", "up")
    return {"without": await run(False, state_dir), "with": await run(True, state_dir)}


if __name__ == "__main__":
    json.dump(asyncio.run(main(sys.argv[1])), sys.stdout)
