"""Run inside ``unshare --net`` (root): the no_accept table on a real kernel, probed with ping over lo."""
from __future__ import annotations

import ipaddress
import json
import subprocess
import sys

from pykeepalived.net.vip_filter import VipFilter

VIP = "192.0.2.50"
VIP6 = "2001:db8::50"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, check=False)


def pings(address: str, wait: int = 5) -> bool:
    """One echo answered within ``wait`` s: generous where an answer is expected (a reply on lo
    takes microseconds, but a niced test on a busy machine was seen to miss a 1 s wait)."""
    return run("ping", "-n", "-c", "1", "-W", str(wait), address).returncode == 0


def main() -> dict:
    run("ip", "link", "set", "lo", "up")
    run("ip", "addr", "add", f"{VIP}/32", "dev", "lo")
    run("ip", "-6", "addr", "add", f"{VIP6}/128", "dev", "lo", "nodad")
    out: dict = {"before": [pings(VIP), pings(VIP6)]}
    f = VipFilter()
    out["applied"] = f.apply([ipaddress.ip_address(VIP), ipaddress.ip_address(VIP6)])
    out["listing"] = run("nft", "list", "table", "inet", "pykeepalived_vrrp").stdout
    out["blocked"] = [pings(VIP, wait=1), pings(VIP6, wait=1)]  # silence expected: waited out in full
    out["other_address"] = pings("127.0.0.1")
    # a second daemon (after a crash) starts with nothing to block: the stale table goes
    g = VipFilter()
    out["stale_removed"] = g.apply([])
    out["after_clear"] = [pings(VIP), pings(VIP6)]
    out["tables_left"] = run("nft", "list", "tables").stdout
    return out


if __name__ == "__main__":
    json.dump(main(), sys.stdout)
