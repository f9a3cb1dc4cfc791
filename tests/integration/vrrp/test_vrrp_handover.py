"""Graceful handover (issue 13), lab "five": the client pings the VIP every 20 ms while the
master stops (SIGTERM) or resigns (``pykeepalivedctl resign``); every echo is counted.

pykeepalived (lb1 priority 200, lb2 priority 100, VRRPv3, advert_int 1 s, as the demo) must
lose none: the master keeps its VIP until lb2's first advert, lb2 takes over one Skew_Time
(0.61 s) after the priority-0 advert.  The same pair of keepalived 2.2.7 is measured and
printed, not asserted (it removes the VIP with its priority-0 advert: ~0.6 s unanswered).
Numbers: docs/performance.md "Planned stop".
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

import pytest

from .ping_probe import Probe, finish_ping, start_ping
from .vrrp_cases import global_defs, instance, stop_all, vips, vrrp_instance, wait_vips
from .vrrp_hosts import KEEPALIVED, Daemon, wait_for

LAB_TOPOLOGY = "five"
VIP = "192.0.2.213"
VRID = 93
ADVERT = 1.0
INTERVAL = 0.02  # one echo request every 20 ms
COUNT = 200  # 4 s of probing: the stop comes at 1 s, the backup takes over 0.61 s later
RUNS = int(os.environ.get("HANDOVER_RUNS", "3"))  # more for a table: HANDOVER_RUNS=10
CTL = str(Path(sys.executable).with_name("pykeepalivedctl"))


def start_probe(lab) -> subprocess.Popen:
    return start_ping(lab, VIP, INTERVAL, COUNT)


def finish_probe(proc: subprocess.Popen) -> Probe:
    return finish_ping(proc, COUNT * INTERVAL + 30)


def pair(lab, kind: str, name: str, extra: str = "") -> tuple[Daemon, Daemon]:
    def make(host: str, priority: int) -> Daemon:
        return Daemon(lab, host, kind, f"{name}-{host}", global_defs(extra=extra) +
                      instance("VI_1", VRID, priority, f"{VIP}/24", advert=ADVERT))
    return make("lb1", 200), make("lb2", 100)


def up(lab, master: Daemon, backup: Daemon, log_dir: Path) -> None:
    backup.start(log_dir)
    master.start(log_dir)
    wait_vips(lab, "lb1", {VIP}, 10)
    wait_vips(lab, "lb2", {VIP}, 10, absent=True)
    # the client has a neighbour entry for the VIP (a real client would have one)
    assert lab.exec("client", ["ping", "-n", "-c", "3", "-i", "0.2", "-W", "1", VIP], check=False).returncode == 0


def sigterm_run(lab, kind: str, name: str, log_dir: Path, extra: str = "") -> Probe:
    master, backup = pair(lab, kind, name, extra)
    try:
        up(lab, master, backup, log_dir)
        probe = start_probe(lab)
        time.sleep(1.0)
        master.kill("TERM")
        result = finish_probe(probe)
        wait_for(lambda: not master.running(), 15, f"{kind} on lb1 did not stop")
        assert VIP in vips(lab, "lb2") and VIP not in vips(lab, "lb1")
        return result
    finally:
        stop_all(master, backup)


def report(kind: str, how: str, runs: list[Probe]) -> str:
    line = (f"{kind:<13} {how:<8} runs {len(runs)}  failed {[p.failed for p in runs]} "
            f"(median {median(p.failed for p in runs):g})  longest gap ms "
            f"{[round(p.longest_gap * 1000) for p in runs]} (median {median(p.longest_gap for p in runs) * 1000:.0f})")
    print(line)
    return line


@pytest.fixture
def clean(lab):
    yield
    for host in ("lb1", "lb2"):
        assert VIP not in vips(lab, host), f"the VIP was left on {host}"


# The new master sends its first advert with its GARP; a request already on its way to the old
# MAC at that instant would be lost if the old master let go on that advert (seen: 1 of 200, about
# once in 10 handovers on a loaded machine), so it keeps the VIP HANDOVER_LINGER (50 ms) longer
# (vrrp/fsm.py). Every request is answered; an ungraceful stop loses ~25 (0.6 s).


def test_sigterm_of_the_master_loses_no_request(lab, clean, tmp_path: Path) -> None:
    runs = [sigterm_run(lab, "pykeepalived", f"ho-{n}", tmp_path) for n in range(RUNS)]
    report("pykeepalived", "SIGTERM", runs)
    for p in runs:
        assert p.failed == 0, f"{p.failed} of {p.sent} echo requests unanswered"
        assert p.longest_gap < 0.3  # 20 ms apart; the ~0.6 s of an ungraceful stop is far above this


def test_without_graceful_handover_the_stop_drops_requests_as_keepalived(lab, clean, tmp_path: Path) -> None:
    """``pykeepalived_graceful_handover off``: the VIP goes with the priority-0 advert, so the
    client is unanswered for about the backup's Skew_Time (the gap the issue measured)."""
    p = sigterm_run(lab, "pykeepalived", "ho-off", tmp_path, extra="    pykeepalived_graceful_handover off\n")
    report("pykeepalived", "off", [p])
    assert p.failed > 0 and p.longest_gap > 0.3


def test_resign_hands_over_and_unresign_takes_back(lab, clean, tmp_path: Path) -> None:
    master, backup = pair(lab, "pykeepalived", "ho-rs")
    try:
        up(lab, master, backup, tmp_path)
        probe = start_probe(lab)
        time.sleep(1.0)
        out = lab.exec("lb1", [CTL, "resign", "VI_1", "--runtime-dir", master.dir])
        assert "resigned: VI_1" in out.stdout
        p = finish_probe(probe)
        report("pykeepalived", "resign", [p])
        assert p.failed == 0, f"{p.failed} of {p.sent} echo requests unanswered"
        # lb1 outranks lb2 and preempts, but a resigned instance stays BACKUP
        assert VIP in vips(lab, "lb2") and VIP not in vips(lab, "lb1")
        status = lab.exec("lb1", [CTL, "status", "--json", "--runtime-dir", master.dir]).stdout
        assert '"resigned": true' in status
        again = lab.exec("lb1", [CTL, "resign", "--all", "--runtime-dir", master.dir])
        assert "nothing to do" in again.stdout
        bad = lab.exec("lb1", [CTL, "resign", "VI_9", "--runtime-dir", master.dir], check=False)
        assert bad.returncode == 1 and "no vrrp_instance 'VI_9'" in bad.stderr
        probe = start_probe(lab)
        time.sleep(0.5)
        lab.exec("lb1", [CTL, "unresign", "--all", "--runtime-dir", master.dir])
        wait_vips(lab, "lb1", {VIP}, 10)  # preempts back after its Master_Down_Interval
        p = finish_probe(probe)
        report("pykeepalived", "unresign", [p])
        assert vrrp_instance_state(lab, master) == "MASTER"
    finally:
        stop_all(master, backup)


def vrrp_instance_state(lab, daemon: Daemon) -> str:
    import json  # noqa: PLC0415

    st = json.loads(lab.exec(daemon.host, [CTL, "status", "--json", "--runtime-dir", daemon.dir]).stdout)
    return vrrp_instance(st["result"], "VI_1")["state"]


@pytest.mark.skipif(not Path(KEEPALIVED).exists(), reason="keepalived 2.2.7 is not installed")
def test_keepalived_pair_measured_on_sigterm(lab, clean, tmp_path: Path) -> None:
    """Reported, not asserted: keepalived's planned stop, same lab, same load."""
    runs = [sigterm_run(lab, "keepalived", f"ka-{n}", tmp_path) for n in range(RUNS)]
    report("keepalived", "SIGTERM", runs)
    assert all(p.sent == COUNT for p in runs)
