"""Config builders and probes shared by the behaviour, sync and notify lab tests.

Built on ``vrrp_hosts`` (daemons started and stopped by PID inside lab hosts).
Every test uses VRRPv3 with advert_int 0.2 s unless it needs v2 (PASS auth).
"""
from __future__ import annotations

import json
import time

from lab import Lab

from .vrrp_hosts import Daemon, wait_for

ADVERT = 0.2


def global_defs(version: int = 3, extra: str = "") -> str:
    return f"global_defs {{\n    vrrp_version {version}\n    vrrp_garp_master_delay 1\n{extra}}}\n"


def instance(name: str, vrid: int, priority: int, vips: str | list[str], *, advert: float = ADVERT,
             state: str = "BACKUP", extra: str = "") -> str:
    vips = [vips] if isinstance(vips, str) else vips
    lines = "\n".join(f"        {v}" for v in vips)
    return (f"vrrp_instance {name} {{\n    state {state}\n    interface eth0\n    virtual_router_id {vrid}\n"
            f"    priority {priority}\n    advert_int {advert:g}\n    virtual_ipaddress {{\n{lines}\n    }}\n"
            f"{extra}}}\n")


def vips(lab: Lab, host: str, family: int = 4) -> set[str]:
    out = lab.exec(host, ["ip", "-o", f"-{family}", "addr", "show", "dev", "eth0"]).stdout
    return {line.split()[3].split("/")[0] for line in out.splitlines()}


def wait_vips(lab: Lab, host: str, want: set[str], timeout: float, family: int = 4, absent: bool = False) -> float:
    """Poll until all of ``want`` are present (or all absent); seconds waited."""
    t0 = time.monotonic()
    wait_for(lambda: (not (vips(lab, host, family) & want)) if absent else want <= vips(lab, host, family),
             timeout, f"{want} {'stayed on' if absent else 'never all on'} {host} within {timeout} s")
    return time.monotonic() - t0


def dump(daemon: Daemon) -> dict:
    """SIGUSR1, then the JSON dump (RUNTIME_DIR/pykeepalived.json) written after the signal.

    The previous dump is removed first and a dump counts only if its ``dumped`` time (the daemon's
    clock: the same kernel) is not older than the signal: an older one holds the old state."""
    path = f"{daemon.dir}/pykeepalived.json"
    daemon.lab.exec(daemon.host, ["rm", "-f", path])
    sent = time.time()
    daemon.kill("USR1")
    data: dict = {}

    def fresh() -> bool:
        nonlocal data
        out = daemon.lab.exec(daemon.host, ["cat", path], check=False)
        if out.returncode != 0:
            return False
        try:
            data = json.loads(out.stdout)
        except ValueError:
            return False  # being written
        return data.get("dumped", 0) >= sent

    wait_for(fresh, 5, f"no fresh dump from {daemon.name}")
    return data


def wait_instance(daemon: Daemon, name: str, cond, timeout: float, what: str) -> dict:
    """Poll dumps until ``cond(instance status)`` holds; the instance's status then."""
    got: dict = {}

    def ok() -> bool:
        nonlocal got
        insts = (dump(daemon).get("vrrp") or {}).get("instances") or []
        got = next((i for i in insts if i["name"] == name), {})
        return bool(got) and cond(got)

    wait_for(ok, timeout, f"{daemon.name}'s {name} never {what} within {timeout} s (last: {got})")
    return got


def vrrp_instance(data: dict, name: str) -> dict:
    return next(i for i in data["vrrp"]["instances"] if i["name"] == name)


def stop_all(*daemons: Daemon) -> None:
    for d in daemons:
        if d.running():
            d.stop()
