"""More keepalived VRRP keywords on real hosts (lab "five"), against Debian's keepalived 2.2.7:

* ``mcast_dst_ip``: keepalived's adverts to 224.0.0.100 keep our backup with the same group a
  backup; one listening on the default group never hears them and takes the VIP;
* ``unicast_fault_no_peer`` with no ``unicast_peer``: FAULT, no VIP (keepalived falls back to
  multicast without it);
* ``vrrp_startup_delay``: even an address owner (priority 255) stays backup for the delay.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from .test_vrrp_keywords import accepted, instance_status
from .vrrp_hosts import KEEPALIVED, Daemon, conf, has_vip, wait_for, wait_vip

LAB_TOPOLOGY = "five"
VIP = "192.0.2.232"
GROUP = "    mcast_dst_ip 224.0.0.100\n"


@pytest.mark.skipif(not Path(KEEPALIVED).exists(), reason="keepalived 2.2.7 is not installed")
def test_mcast_dst_ip_against_keepalived(lab, tmp_path: Path) -> None:
    master = Daemon(lab, "lb1", "keepalived", "dst-m", conf(90, 150, VIP, advert_int=0.5, state="MASTER", extra=GROUP))
    same = Daemon(lab, "lb2", "pykeepalived", "dst-b1", conf(90, 100, VIP, advert_int=0.5, extra=GROUP))
    default = Daemon(lab, "lb2", "pykeepalived", "dst-b2", conf(90, 100, VIP, advert_int=0.5))
    try:
        master.start(tmp_path)
        wait_vip(lab, "lb1", VIP, 10)
        same.start(tmp_path)
        wait_for(lambda: accepted(lab, same, "VI_90") >= 3, 15, "no advert to 224.0.0.100 accepted")
        assert instance_status(lab, same, "VI_90")["state"] == "BACKUP" and not has_vip(lab, "lb2", VIP)
        same.stop()
        default.start(tmp_path)  # joined 224.0.0.18 only: keepalived's adverts never reach it
        wait_vip(lab, "lb2", VIP, 10)
        st = instance_status(lab, default, "VI_90")
        assert st["state"] == "MASTER" and st["counters"]["adverts_received"] == 0, st
    finally:
        for d in (same, default, master):
            if d.running():
                d.stop()
    assert not has_vip(lab, "lb1", VIP) and not has_vip(lab, "lb2", VIP)


def test_unicast_fault_no_peer_without_peers_is_fault(lab, tmp_path: Path) -> None:
    extra = "    unicast_src_ip 192.0.2.12\n    unicast_fault_no_peer\n"
    lone = Daemon(lab, "lb2", "pykeepalived", "nopeer", conf(91, 255, VIP, advert_int=0.5, extra=extra))
    try:
        lone.start(tmp_path)
        wait_for(lambda: instance_status(lab, lone, "VI_91").get("state") == "FAULT", 10, "not in FAULT")
        assert not has_vip(lab, "lb2", VIP)  # an owner would be master at once otherwise
    finally:
        if lone.running():
            lone.stop()


def test_startup_delay_holds_even_the_owner(lab, tmp_path: Path) -> None:
    delay = 20  # far longer than a loaded start takes to answer its first status
    owner = Daemon(lab, "lb1", "pykeepalived", "delay",
                   conf(92, 255, VIP, advert_int=0.5).replace("global_defs {\n",
                                                            f"global_defs {{\n    vrrp_startup_delay {delay}\n"))
    try:
        owner.start(tmp_path)  # ready: its instances have started
        st = instance_status(lab, owner, "VI_92")
        assert st["state"] == "BACKUP" and not has_vip(lab, "lb1", VIP), st
        wait_vip(lab, "lb1", VIP, delay + 30)
        assert instance_status(lab, owner, "VI_92")["state"] == "MASTER"
    finally:
        if owner.running():
            owner.stop()
    assert not has_vip(lab, "lb1", VIP)
