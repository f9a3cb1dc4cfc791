"""Two pykeepalived hosts (lab "five": lb1, lb2, client): election, kill -9
failover against Master_Down_Interval, preemption, priority 0 on SIGTERM.

VRRPv3 with advert_int 0.2 s keeps it short: Master_Down_Interval for the
priority-100 backup is 3 x 0.2 + (256-100)/256 x 0.2 = 0.72 s, Skew_Time 0.12 s
(RFC 5798 6.1).  Margins cover the controller's polling (nsenter, ~10-30 ms).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.vrrp.timers import master_down_interval, skew_time

from .vrrp_hosts import Daemon, conf, has_vip, ping, wait_vip

LAB_TOPOLOGY = "five"
VIP = "192.0.2.200"
ADVERT = 0.2


@pytest.fixture
def pair(lab, tmp_path: Path):
    master = Daemon(lab, "lb1", "pykeepalived", "pair-m", conf(60, 150, VIP, state="MASTER", advert_int=ADVERT))
    backup = Daemon(lab, "lb2", "pykeepalived", "pair-b", conf(60, 100, VIP, advert_int=ADVERT))
    yield master, backup, tmp_path
    for d in (master, backup):
        if d.running():
            d.stop()
    assert not has_vip(lab, "lb1", VIP) and not has_vip(lab, "lb2", VIP), "a VIP was left behind"


def test_election_failover_preemption_priority_zero(lab, pair) -> None:
    master, backup, logs = pair
    backup.start(logs)
    master.start(logs)
    wait_vip(lab, "lb1", VIP, 15)  # a start on a loaded machine: the bound is not the point
    assert not has_vip(lab, "lb2", VIP)
    assert ping(lab, "client", VIP)

    # kill -9: the backup takes over after Master_Down_Interval (no priority 0 sent)
    mdi = master_down_interval(3, 100, ADVERT)
    master.kill("KILL")
    waited = wait_vip(lab, "lb2", VIP, mdi + 2)
    assert waited <= mdi + 0.5, f"takeover after {waited:.2f} s, Master_Down_Interval {mdi:.2f} s"
    assert ping(lab, "client", VIP)
    lab.exec("lb1", ["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"])  # what kill -9 left behind

    # preemption: the higher priority comes back and takes the VIP
    master.start(logs)
    wait_vip(lab, "lb1", VIP, 15)
    wait_vip(lab, "lb2", VIP, 2, present=False)

    # SIGTERM: priority 0, the backup takes over after Skew_Time
    master.kill("TERM")
    waited = wait_vip(lab, "lb2", VIP, 3)
    assert waited <= skew_time(3, 100, ADVERT) + 0.5, f"takeover {waited:.2f} s after SIGTERM"
    wait_vip(lab, "lb1", VIP, 2, present=False)
    assert ping(lab, "client", VIP)


NOTIFY = "#!/bin/sh\necho \"$@\" >> /etc/hk-vrrp-test/notify.log\n"


def _read(lab, host: str, path: str) -> str:
    return lab.exec(host, ["cat", path], check=False).stdout


def test_track_script_and_notify(lab, tmp_path: Path) -> None:
    """A failing vrrp_script (weight -60) hands the VIP over; notify gets keepalived's 4 arguments."""
    track = """    track_script {
        chk_healthy
    }
    notify /etc/hk-vrrp-test/notify.sh
"""
    script = """vrrp_script chk_healthy {
    script "/usr/bin/test -f /etc/hk-vrrp-test/healthy"
    interval 1
    weight -60
}
"""
    for host in ("lb1", "lb2"):
        lab.exec(host, ["mkdir", "-p", "/etc/hk-vrrp-test"])
        lab.exec(host, ["tee", "/etc/hk-vrrp-test/notify.sh"], input=NOTIFY)
        lab.exec(host, ["chmod", "755", "/etc/hk-vrrp-test/notify.sh"])
        lab.exec(host, ["touch", "/etc/hk-vrrp-test/healthy"])
    master = Daemon(lab, "lb1", "pykeepalived", "trk-m",
                    script + conf(61, 150, VIP, state="MASTER", advert_int=ADVERT, extra=track))
    backup = Daemon(lab, "lb2", "pykeepalived", "trk-b", script + conf(61, 100, VIP, advert_int=ADVERT, extra=track))
    log = "/etc/hk-vrrp-test/notify.log"
    try:
        backup.start(tmp_path)
        master.start(tmp_path)
        wait_vip(lab, "lb1", VIP, 3)
        lab.exec("lb1", ["rm", "/etc/hk-vrrp-test/healthy"])  # 150 - 60 = 90 < 100
        wait_vip(lab, "lb2", VIP, 4)
        wait_vip(lab, "lb1", VIP, 2, present=False)
        lab.exec("lb1", ["touch", "/etc/hk-vrrp-test/healthy"])  # back to 150: preempts
        wait_vip(lab, "lb1", VIP, 4)
    finally:
        for d in (master, backup):
            if d.running():
                d.stop()
    lines1 = _read(lab, "lb1", log).splitlines()
    lines2 = _read(lab, "lb2", log).splitlines()
    assert "INSTANCE VI_61 MASTER 150" in lines1
    assert "INSTANCE VI_61 BACKUP 90" in lines1
    assert lines1[-1] == "INSTANCE VI_61 STOP 150"
    assert "INSTANCE VI_61 MASTER 100" in lines2 and "INSTANCE VI_61 BACKUP 100" in lines2
    assert not has_vip(lab, "lb1", VIP) and not has_vip(lab, "lb2", VIP)
