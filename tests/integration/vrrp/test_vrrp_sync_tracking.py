"""Tracking on a vrrp_sync_group (config/sync_tracking.py), side by side with keepalived 2.2.7 (lab "five").

The same config on both hosts: sync group VG of VI_A and VI_B whose *group* tracks a
track_file with weight 0 (keepalived: a non-zero value in the file is a failure of
every member). The master's file goes to 1: its whole group faults and the other host
takes both VIPs; back to 0: it takes them back. Run with pykeepalived as the master
and keepalived as the backup, then the other way round: both daemons act alike.
A weighted group tracker moves every member's priority instead (members' own
trackers are forced to weight 0 in a sync group, the group's are not).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from .vrrp_cases import global_defs, instance, stop_all, vips, wait_instance, wait_vips
from .vrrp_hosts import Daemon

LAB_TOPOLOGY = "five"
VIP_A, VIP_B = "192.0.2.222", "192.0.2.223"
D = "/etc/hk-vrrp-sgtrack"  # inside each host's private overlay


def config(priority: int, weight: int = 0) -> str:
    return (global_defs() + f"""track_file state {{
    file {D}/state
}}
vrrp_sync_group VG {{
    group {{
        VI_A
        VI_B
    }}
    track_file {{
        state weight {weight}
    }}
}}
""" + instance("VI_A", 93, priority, f"{VIP_A}/24") + instance("VI_B", 94, priority, f"{VIP_B}/24"))


def set_state(lab, host: str, value: int) -> None:
    lab.exec(host, ["sh", "-c", f"echo {value} > {D}/state.new && mv {D}/state.new {D}/state"])


@pytest.fixture
def files(lab):
    for host in ("lb1", "lb2"):
        lab.exec(host, ["mkdir", "-p", D])
        set_state(lab, host, 0)
    yield
    for host in ("lb1", "lb2"):
        assert not (vips(lab, host) & {VIP_A, VIP_B}), f"a VIP was left on {host}"
        lab.exec(host, ["rm", "-rf", D])


@pytest.mark.parametrize("master_kind", ["pykeepalived", "keepalived"])
def test_group_tracking_faults_every_member(lab, files, master_kind: str, tmp_path: Path) -> None:
    backup_kind = "keepalived" if master_kind == "pykeepalived" else "pykeepalived"
    m = Daemon(lab, "lb1", master_kind, "sgt-m", config(150))
    b = Daemon(lab, "lb2", backup_kind, "sgt-b", config(100))
    both = {VIP_A, VIP_B}
    try:
        b.start(tmp_path)
        m.start(tmp_path)
        wait_vips(lab, "lb1", both, 5)
        set_state(lab, "lb1", 1)  # the group's tracker fails: both members FAULT
        wait_vips(lab, "lb2", both, 5)
        wait_vips(lab, "lb1", both, 3, absent=True)
        set_state(lab, "lb1", 0)
        wait_vips(lab, "lb1", both, 5)
        wait_vips(lab, "lb2", both, 3, absent=True)
    finally:
        stop_all(m, b)


def test_weighted_group_tracking_lowers_every_member(lab, files, tmp_path: Path) -> None:
    m = Daemon(lab, "lb1", "pykeepalived", "sgw-m", config(150, weight=-1))
    b = Daemon(lab, "lb2", "keepalived", "sgw-b", config(100, weight=-1))
    both = {VIP_A, VIP_B}
    try:
        b.start(tmp_path)
        m.start(tmp_path)
        wait_vips(lab, "lb1", both, 5)
        set_state(lab, "lb1", 60)  # 150 - 60 = 90 < 100: BACKUP (not FAULT), both members
        wait_vips(lab, "lb2", both, 5)
        for name in ("VI_A", "VI_B"):
            wait_instance(m, name, lambda i: i["state"] == "BACKUP" and i["effective_priority"] == 90, 15,
                          "BACKUP at 90")
        set_state(lab, "lb1", 0)
        wait_vips(lab, "lb1", both, 5)
    finally:
        stop_all(m, b)
