"""More keepalived VRRP keywords on real hosts (lab "five"), against Debian's keepalived 2.2.7:

* ``mcast_dst_ip``: keepalived's adverts to 224.0.0.100 keep our backup with the same group a
  backup; one listening on the default group never hears them and takes the VIP;
* ``unicast_fault_no_peer`` with no ``unicast_peer``: FAULT, no VIP (keepalived falls back to
  multicast without it);
* ``vrrp_startup_delay``: even an address owner (priority 255) stays backup for the delay.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from .test_vrrp_keywords import VIP as VIP_U
from .test_vrrp_keywords import accepted, instance_status, unicast_conf
from .vrrp_hosts import KEEPALIVED, Daemon, conf, has_vip, instance_block, wait_for, wait_vip

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


D = "/etc/hk-vrrp-keywords-more"  # inside each host's private overlay
RECORDER = f'#!/bin/sh\necho "$0 $*" >> {D}/calls.log\n'
FIFO_READER = f'#!/bin/sh\nexec cat "$1" >> {D}/fifo.log\n'


def instance(vrid: int, priority: int, vip: str, extra: str = "") -> str:
    return instance_block(vrid, priority, vip, advert_int=1, state="MASTER", extra=extra)


def tools(lab, host: str) -> None:
    lab.exec(host, ["mkdir", "-p", D])
    for name, text in (("record.sh", RECORDER), ("fifo.sh", FIFO_READER)):
        lab.exec(host, ["tee", f"{D}/{name}"], input=text)
        lab.exec(host, ["chmod", "755", f"{D}/{name}"])


def lines(lab, host: str, name: str) -> list[str]:
    return lab.exec(host, ["cat", f"{D}/{name}"], check=False).stdout.splitlines()


@pytest.mark.skipif(not Path(KEEPALIVED).exists(), reason="keepalived 2.2.7 is not installed")
def test_master_rx_lower_pri_and_unknown_vrids_against_keepalived(lab, tmp_path: Path) -> None:
    """keepalived drops our adverts (another VIP, and it checks the address list), so it is a master
    too, at priority 100; ours (vrrp_skip_check_adv_addr) takes its adverts: each is a lower
    priority heard as master. keepalived's second instance, VRID 96, is one we do not have.

    keepalived's master restarts its advert timer on every advert it reads, dropped or not
    (vrrp_scheduler.c, "If we have sent an advert, reset the timer"), unless lower_prio_no_advert
    is set: without it, our adverts, one interval apart, would keep resetting it, and whether it
    ever sends would be a race between the two schedules."""
    tools(lab, "lb1")
    ours = Daemon(lab, "lb1", "pykeepalived", "rxlow", f"""global_defs {{
    vrrp_skip_check_adv_addr
    log_unknown_vrids
    notify_fifo {D}/all.fifo
    notify_fifo_script {D}/fifo.sh
}}
vrrp_instance VI_95 {{
    state MASTER
    interface eth0
    virtual_router_id 95
    priority 150
    advert_int 1
    notify_master_rx_lower_pri {D}/record.sh
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
""")
    theirs = Daemon(lab, "lb2", "keepalived", "rxlow-k",
                    instance(95, 100, "192.0.2.233", "    lower_prio_no_advert\n")
                    + instance(96, 100, "192.0.2.234"))
    try:
        ours.start(tmp_path)
        wait_vip(lab, "lb1", VIP, 10)
        theirs.start(tmp_path)
        wait_for(lambda: len(lines(lab, "lb1", "calls.log")) >= 2, 20, "notify_master_rx_lower_pri never ran")
        assert lines(lab, "lb1", "calls.log")[0] == f"{D}/record.sh "  # no arguments, as keepalived
        wait_for(lambda: 'INSTANCE "VI_95" MASTER_RX_LOWER_PRI 150' in lines(lab, "lb1", "fifo.log"), 10,
                 "no MASTER_RX_LOWER_PRI fifo line")
        st = instance_status(lab, ours, "VI_95")
        assert st["state"] == "MASTER" and st["counters"]["lower_priority_received"] >= 2, st
    finally:
        for d in (theirs, ours):
            if d.running():
                d.stop()
        lab.exec("lb1", ["rm", "-rf", D])
    log = (tmp_path / "lb1-rxlow.log").read_text()
    assert "Unknown VRID(96) received on interface(eth0) from 192.0.2.12. ignoring..." in log


def test_notify_deleted_on_a_reload_that_removes_the_instance(lab, tmp_path: Path) -> None:
    tools(lab, "lb1")

    notify = f"    notify {D}/record.sh\n"
    daemon = Daemon(lab, "lb1", "pykeepalived", "deleted",
                    instance(97, 150, "192.0.2.235", notify + f"    notify_deleted \"{D}/record.sh deleted\"\n")
                    + instance(98, 150, VIP, notify))
    try:
        daemon.start(tmp_path)
        wait_for(lambda: f"{D}/record.sh INSTANCE VI_98 MASTER 150" in lines(lab, "lb1", "calls.log"), 10, "not up")
        daemon.config = instance(99, 150, "192.0.2.236")  # VI_97 and VI_98 go
        daemon.write_config()
        daemon.kill("HUP")
        wait_for(lambda: f"{D}/record.sh INSTANCE VI_98 STOP 150" in lines(lab, "lb1", "calls.log"), 10,
                 "VI_98 not stopped")
        wait_for(lambda: f"{D}/record.sh INSTANCE VI_97 DELETED 150" in lines(lab, "lb1", "calls.log"), 10,
                 f"no DELETED: {lines(lab, 'lb1', 'calls.log')}")
        # notify_deleted's own script, with its own argument (a script runs in the background)
        wait_for(lambda: f"{D}/record.sh deleted" in lines(lab, "lb1", "calls.log"), 10, "notify_deleted's script")
        calls = lines(lab, "lb1", "calls.log")
        assert not any("VI_97 STOP" in c for c in calls), calls
    finally:
        if daemon.running():
            daemon.stop()
        lab.exec("lb1", ["rm", "-rf", D])
    assert not has_vip(lab, "lb1", VIP)


@pytest.mark.skipif(not Path(KEEPALIVED).exists(), reason="keepalived 2.2.7 is not installed")
def test_unicast_ttl_is_what_keepalived_receives(lab, tmp_path: Path) -> None:
    """keepalived accepts our adverts only with TTL 200 (its unicast_peer min_ttl/max_ttl): with
    unicast_ttl 200 it stays backup; with the default 255 it drops them and takes the VIP."""
    theirs = Daemon(lab, "lb2", "keepalived", "ttl-k",
                    unicast_conf(94, 100, "192.0.2.12", "192.0.2.11", "min_ttl 200 max_ttl 200"))
    ours = Daemon(lab, "lb1", "pykeepalived", "ttl-200",
                  unicast_conf(94, 150, "192.0.2.11", "192.0.2.12", state="MASTER")
                  .replace("    unicast_src_ip", "    unicast_ttl 200\n    unicast_src_ip"))
    plain = Daemon(lab, "lb1", "pykeepalived", "ttl-255",
                   unicast_conf(94, 150, "192.0.2.11", "192.0.2.12", state="MASTER"))
    try:
        ours.start(tmp_path)
        wait_vip(lab, "lb1", VIP_U, 10)
        theirs.start(tmp_path)
        end = time.monotonic() + 8  # keepalived's Master_Down_Interval is 3.6 s: twice that, still backup
        while time.monotonic() < end:
            assert not has_vip(lab, "lb2", VIP_U), "keepalived dropped our TTL 200 adverts"
            time.sleep(0.2)
        ours.stop()
        plain.start(tmp_path)
        wait_vip(lab, "lb2", VIP_U, 15)  # TTL 255 is outside 200..200: dropped, keepalived takes over
    finally:
        for d in (plain, ours, theirs):
            if d.running():
                d.stop()
