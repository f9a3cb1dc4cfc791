"""Run inside ``unshare --net`` (root): VrrpManager and promote_secondaries on a veth.

With the keyword, deleting d0's primary address keeps a secondary of its subnet (the kernel
promotes it); the sysctl follows reloads and the stop, and one found at 1 is left alone.
argv[1]: the state directory.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from pykeepalived.config.loader import loads_config
from pykeepalived.config.model import Config
from pykeepalived.vrrp.manager import VrrpManager

SYSCTL = Path("/proc/sys/net/ipv4/conf/d0/promote_secondaries")


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


def config(priority: int, promote: bool) -> Config:
    parsed, diags = loads_config(f"""vrrp_instance VI_1 {{
    interface d0
    virtual_router_id 51
    priority {priority}
    advert_int 1
{"    promote_secondaries" if promote else ""}
    virtual_ipaddress {{
        198.51.100.100/24
    }}
}}
""")
    assert not diags.errors, [str(e) for e in diags.errors]
    return parsed


def addresses() -> list[str]:
    return [line.split()[3] for line in ip("-o", "-4", "addr", "show", "dev", "d0").splitlines()]


def survives_primary_deletion() -> bool:
    """Primary 192.0.2.11/24 and secondary 192.0.2.12/24; delete the primary: is .12 still there?"""
    ip("addr", "add", "192.0.2.11/24", "dev", "d0")
    ip("addr", "add", "192.0.2.12/24", "dev", "d0")
    ip("addr", "del", "192.0.2.11/24", "dev", "d0")
    kept = "192.0.2.12/24" in addresses()
    ip("addr", "flush", "dev", "d0", "to", "192.0.2.0/24")
    return kept


async def main(state_dir: str) -> dict:
    ip("link", "add", "d0", "type", "veth", "peer", "name", "d1")
    ip("addr", "add", "198.51.100.11/24", "dev", "d0")
    ip("link", "set", "d0", "up")
    ip("link", "set", "d1", "up")
    out = {"before": SYSCTL.read_text().strip(), "kept_before": survives_primary_deletion()}
    manager = VrrpManager(config(100, True), state_dir)
    await manager.apply(config(100, True))
    out["started"] = SYSCTL.read_text().strip()
    out["kept_running"] = survives_primary_deletion()
    await manager.apply(config(101, True))  # the instance changes, the wish stays
    out["reloaded_same"] = SYSCTL.read_text().strip()
    await manager.apply(config(101, False))
    out["reloaded_without"] = SYSCTL.read_text().strip()
    await manager.apply(config(100, True))
    await manager.stop()
    out["stopped"] = SYSCTL.read_text().strip()
    SYSCTL.write_text("1\n")  # set by someone else: ours to leave
    manager = VrrpManager(config(100, True), state_dir)
    await manager.apply(config(100, True))
    await manager.stop()
    out["foreign_kept"] = SYSCTL.read_text().strip()
    return out


if __name__ == "__main__":
    json.dump(asyncio.run(main(sys.argv[1])), sys.stdout)
