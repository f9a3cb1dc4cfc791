"""Runs INSIDE the UML guest (test_ipvs_keywords_uml.py boots it), in the guest's own namespace:
global_defs lvs_timeouts (net/ipvs_config.py, set by the checker side's LbLoop) and
lvs_flush_on_stop against a real IPVS kernel, read back with ipvsadm.
Results: $HAPAIR_SHARE/keywords-checks.json as {name: [ok, detail]}; exit 0 when all passed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from pykeepalived.config.loader import loads_config  # noqa: E402
from pykeepalived.lb.ipvs import IpvsBackend  # noqa: E402
from pykeepalived.lb.loop import LbLoop  # noqa: E402
from pykeepalived.lb.plane import LoadBalancer  # noqa: E402
from pykeepalived.net.ipvs_config import TimeoutControl, Timeouts  # noqa: E402

WORK = Path("/tmp/lbkeywords")  # the guest's tmpfs
VS = "virtual_server 192.0.2.80 80 {\n  protocol TCP\n  real_server 192.0.2.21 80 {\n  }\n}\n"
checks: dict[str, list] = {}


def check(name: str, ok: bool, detail: object) -> None:
    checks[name] = [bool(ok), detail]
    print(("PASS " if ok else "FAIL ") + name, detail if not ok else "", flush=True)


def ipvsadm(*args: str) -> str:
    return subprocess.run(["ipvsadm", *args], capture_output=True, text=True, check=True).stdout


def kernel_timeouts() -> tuple[int, ...]:
    """``ipvsadm -L --timeout``: "Timeout (tcp tcpfin udp): 900 120 300"."""
    found = re.search(r"Timeout \(tcp tcpfin udp\): (\d+) (\d+) (\d+)", ipvsadm("-L", "--timeout"))
    return tuple(int(x) for x in found.groups()) if found else ()


def conf(text: str):
    config, diags = loads_config(text, "k.conf")
    assert not diags.errors, [str(e) for e in diags.errors]
    return config


def run() -> None:
    WORK.mkdir(exist_ok=True)
    subprocess.run(["modprobe", "ip_vs"], check=False)
    first = kernel_timeouts()
    check("kernel_reports_timeouts", len(first) == 3, first)
    control = TimeoutControl()
    check("kernel_read_over_netlink", control.read() == Timeouts(*first), control.read())
    error = control.apply(Timeouts(700, 60, 200))
    check("set_over_netlink", error is None, error)
    check("all_three_set", kernel_timeouts() == (700, 60, 200), kernel_timeouts())
    control.apply(Timeouts(tcp=500))
    check("unset_ones_are_the_kernel_s_first", kernel_timeouts() == (500, first[1], first[2]), kernel_timeouts())
    control.apply(None)
    check("dropped_restores_the_kernel_s", kernel_timeouts() == first, kernel_timeouts())

    async def loop_life() -> tuple:
        lb = LbLoop(conf("global_defs {\n    lb_backend ipvs\n    lvs_timeouts tcp 800 udp 250\n}\n" + VS), WORK)
        await lb.start()
        started = kernel_timeouts()
        await lb.reload(conf("global_defs {\n    lb_backend ipvs\n}\n" + VS))
        reloaded = kernel_timeouts()
        await lb.stop()
        return started, reloaded

    started, reloaded = asyncio.run(loop_life())
    check("lbloop_start_sets_them", started == (800, first[1], 250), started)
    check("reload_without_them_restores", reloaded == first, reloaded)

    for setting, foreign_left in (("", True), ("lvs_flush_on_stop VS", True), ("lvs_flush_on_stop", False)):
        ipvsadm("-A", "-t", "203.0.113.9:80", "-s", "wlc")
        lb = LoadBalancer(conf(f"global_defs {{\n    {setting}\n}}\n" + VS), IpvsBackend(), WORK)
        lb.start()
        before = ipvsadm("-Ln")
        lb.stop()
        lb.close()
        after = ipvsadm("-Ln")
        name = "stop_" + (setting.replace(" ", "_") or "default")
        check(name, "192.0.2.80:80" in before and "192.0.2.80:80" not in after
              and ("203.0.113.9:80" in after) is foreign_left, after)
        ipvsadm("-C")


def main() -> int:
    try:
        run()
    except Exception:
        check("guest_ran_to_end", False, traceback.format_exc())
    else:
        check("guest_ran_to_end", True, "")
    Path(os.environ.get("HAPAIR_SHARE", "/tmp"), "keywords-checks.json").write_text(json.dumps(checks, default=str))
    return 0 if all(ok for ok, _detail in checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
