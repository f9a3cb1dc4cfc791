"""BFD_CHECK against Debian's keepalived 2.2.7: a real server follows a BFD session.

lb1 runs pykeepalived (supervised: VRRP, checker and BFD children) with one
bfd_instance to lb2, a virtual_server on the nftables plane whose real server
192.0.2.12:80 has ``BFD_CHECK { name to_lb2 alpha }`` next to one without a
checker, and a lone MASTER instance that tracks the same session with weight 0.
lb2 runs keepalived with a bfd_instance back to lb1.  So one session's events
reach both listening children.

With ``alpha`` the real server is out of the kernel's table until the session
is first Up.  When lb2 stops sending BFD (nft drops its own packets) the real
server leaves the table and the VIP goes (FAULT); when lb2 speaks again both
come back.  Then the BFD child is killed (-9): the parent restarts it, and
the real server and the VIP are back once the new child's session is Up.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from vrrp.vrrp_hosts import conf, has_vip, wait_for

from pykeepalived.lb.nft_render import parse

from .bfd_hosts import CTL, BfdDaemon, bfd_block, bfd_status, cut, track_bfd, uncut

LAB_TOPOLOGY = "five"
LB1, LB2 = "192.0.2.11", "192.0.2.12"
VIP, KA_VIP = "192.0.2.96", "192.0.2.97"
CHECKED, PLAIN = "192.0.2.12:80", "192.0.2.21:80"
VS = "TCP 192.0.2.80:80"
# 1 s detection: this tests where events go, not how fast (docs/performance.md has that); a
# 150 ms session on a loaded 2-core machine can fall by itself between two steps
TIMERS = {"interval_ms": 200, "multiplier": 5}


def ours_conf() -> str:
    return (bfd_block("to_lb2", LB2, LB1, **TIMERS) + conf(96, 100, VIP, state="MASTER", extra=track_bfd("to_lb2"))
            .replace("global_defs {", "global_defs {\n    lb_backend nftables") + f"""virtual_server 192.0.2.80 80 {{
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {LB2} 80 {{
        BFD_CHECK {{
            name to_lb2
            alpha
        }}
    }}
    real_server 192.0.2.21 80 {{
        weight 1
    }}
}}
""")


def table(lab) -> dict[str, set[str]]:
    """lb1's nftables plane as the kernel holds it: {service: {real servers}}."""
    out = lab.exec("lb1", ["nft", "-j", "list", "table", "inet", "pykeepalived"], check=False)
    if out.returncode != 0:
        return {}
    services, _, _ = parse(json.loads(out.stdout))
    return {str(k): {str(d) for d in s.dests.values()} for k, s in services.items()}


def in_table(lab, rs: str) -> bool:
    return rs in table(lab).get(VS, set())


def bfd_child_pid(daemon: BfdDaemon) -> int:
    """0 while there is none (between the kill and the restart)."""
    out = daemon.lab.exec(daemon.host, ["cat", f"{daemon.dir}/bfd.pid"], check=False)
    return int(out.stdout) if out.returncode == 0 and out.stdout.strip() else 0


def restarted_and_up(daemon: BfdDaemon, old: int) -> bool:
    """A new BFD child whose session is Up (its status is None while it is not running)."""
    if bfd_child_pid(daemon) in (0, old):
        return False
    status = bfd_status(daemon)
    return status is not None and status["sessions"].get("to_lb2", {}).get("state") == "UP"


def checker_view(daemon: BfdDaemon) -> dict:
    out = daemon.lab.exec(daemon.host, [CTL, "status", "--json", "--runtime-dir", daemon.dir]).stdout
    result = json.loads(out)["result"]
    return next(rs for rs in result["lb"]["checkers"] if LB2 in rs["real_server"])


def both_follow(lab, up: bool, timeout: float, why: str) -> float:
    """Wait until the checked real server and the tracked VIP are both in (or both out); seconds taken."""
    began = time.monotonic()
    wait_for(lambda: in_table(lab, CHECKED) == up and has_vip(lab, "lb1", VIP) == up, timeout, why)
    return time.monotonic() - began


def test_a_real_server_follows_its_bfd_session_with_keepalived(lab, tmp_path: Path) -> None:
    ours = BfdDaemon(lab, "lb1", "pykeepalived", "bfdchk-ours", ours_conf())
    theirs = BfdDaemon(lab, "lb2", "keepalived", "bfdchk-ka",
                       bfd_block("to_lb1", LB1, LB2, **TIMERS) + conf(97, 100, KA_VIP, state="MASTER"))
    try:
        theirs.start(tmp_path)
        ours.start(tmp_path)
        wait_for(lambda: PLAIN in table(lab).get(VS, set()), 30, "the checker child programmed no table")
        both_follow(lab, True, 20, "the session came Up but the real server or the VIP did not follow")
        assert bfd_status(ours)["listeners"]["listeners"] == 2  # the VRRP child and the checker child
        for run in range(2):
            cut(lab, "lb2")
            took = both_follow(lab, False, 10, f"run {run}: BFD down, yet the real server or the VIP stayed")
            assert in_table(lab, PLAIN), "the real server without a checker left too"
            view = checker_view(ours)
            assert not view["up"] and [(c["kind"], c["up"]) for c in view["checkers"]] == [("BFD_CHECK", False)], view
            uncut(lab, "lb2")
            both_follow(lab, True, 20, f"run {run}: BFD Up again, the real server or the VIP did not come back")
            print(f"\nrun {run}: cut -> real server and VIP gone in {took * 1000:.0f} ms (polled)")
        # the BFD child dies: the parent restarts it; the listeners keep what they knew meanwhile,
        # and the new child's session comes Up again with keepalived
        old = bfd_child_pid(ours)
        lab.exec("lb1", ["kill", "-KILL", str(old)])
        wait_for(lambda: restarted_and_up(ours, old),
                 30, "the BFD child was not restarted, or its session did not come Up")
        both_follow(lab, True, 20, "after the BFD child's restart the real server or the VIP is missing")
        assert bfd_status(ours)["listeners"]["listeners"] == 2, "a listener did not reconnect"
    finally:
        uncut(lab, "lb2")
        for d in (ours, theirs):
            if d.running():
                d.stop()
