"""pykeepalived against real keepalived (Debian's 2.2.7), each in both roles, v2 and v3.

Per case: election (the configured master holds the VIP and the client
reaches it), kill -9 of the master (the backup takes over within
Master_Down_Interval, sends gratuitous ARP seen on the client, and the
client reaches the VIP), then the old master returns and preempts.
v2 uses advert_int 1 s (its minimum), v3 0.2 s.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.vrrp.timers import master_down_interval

from .vrrp_hosts import Daemon, conf, has_vip, ping, wait_vip

LAB_TOPOLOGY = "five"
VIP = "192.0.2.201"


@pytest.mark.parametrize("version,advert", [(2, 1.0), (3, 0.2)], ids=["v2", "v3"])
@pytest.mark.parametrize("master_kind", ["keepalived", "pykeepalived"])
def test_mixed_pair(lab, tmp_path: Path, version: int, advert: float, master_kind: str) -> None:
    backup_kind = "pykeepalived" if master_kind == "keepalived" else "keepalived"
    vrid = 70 + version
    master = Daemon(lab, "lb1", master_kind, f"mix-m{version}",
                    conf(vrid, 150, VIP, version=version, advert_int=advert, state="MASTER"))
    backup = Daemon(lab, "lb2", backup_kind, f"mix-b{version}", conf(vrid, 100, VIP, version=version, advert_int=advert))
    mdi = master_down_interval(version, 100, advert)
    try:
        backup.start(tmp_path)
        master.start(tmp_path)
        wait_vip(lab, "lb1", VIP, 3 * mdi + 3)
        assert not has_vip(lab, "lb2", VIP)
        assert ping(lab, "client", VIP)

        with lab.capture("client", "eth0", "arp") as cap:
            master.kill("KILL")
            waited = wait_vip(lab, "lb2", VIP, mdi + 3)
            assert ping(lab, "client", VIP)
        assert waited <= mdi + 0.5, f"{backup_kind} took over after {waited:.2f} s (MDI {mdi:.2f} s)"
        garps = [ln for ln in cap.lines() if f"who-has {VIP} " in ln and f"tell {VIP}," in ln]
        assert garps, f"no gratuitous ARP from {backup_kind}: {cap.lines()}"
        lab.exec("lb1", ["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"], check=False)  # kill -9 leftovers

        master.start(tmp_path)  # preemption: the higher priority takes the VIP back
        wait_vip(lab, "lb1", VIP, 3 * mdi + 3)
        wait_vip(lab, "lb2", VIP, 3, present=False)
        assert ping(lab, "client", VIP)
    finally:
        for d in (master, backup):
            if d.running():
                d.stop()
    assert not has_vip(lab, "lb1", VIP) and not has_vip(lab, "lb2", VIP), "a VIP was left behind"
