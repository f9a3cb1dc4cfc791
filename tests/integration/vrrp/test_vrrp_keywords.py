"""keepalived keywords of the VRRP side on real hosts (lab "five"):

* ``unicast_peer { ADDR min_ttl N max_ttl M }`` against Debian's keepalived:
  its unicast adverts arrive with TTL 255, so ``max_ttl 254`` drops every one
  (counted as ``ttl``) and our backup takes over; ``min_ttl 255`` keeps it backup;
* ``vrrp_garp_interval`` (``vrrp_gna_interval``) spaces a master's gratuitous ARPs (unsolicited
  NAs), seen on the client;
* ``notify_priority_changes`` writes keepalived's ``MASTER_PRIORITY`` fifo line.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from .vrrp_hosts import KEEPALIVED, Daemon, has_vip, wait_for, wait_vip

LAB_TOPOLOGY = "five"
VIP = "192.0.2.230"
CTL = str(Path(sys.executable).with_name("pykeepalivedctl"))
D = "/etc/hk-vrrp-keywords"  # inside each host's private overlay


def unicast_conf(vrid: int, priority: int, me: str, peer: str, peer_opts: str = "", state: str = "BACKUP") -> str:
    return f"""vrrp_instance VI_{vrid} {{
    state {state}
    interface eth0
    virtual_router_id {vrid}
    priority {priority}
    advert_int 1
    unicast_src_ip {me}
    unicast_peer {{
        {peer} {peer_opts}
    }}
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"""


def instance_status(lab, daemon: Daemon, name: str) -> dict:
    """The instance's status ({} while the VRRP child is not up yet)."""
    out = lab.exec(daemon.host, [CTL, "status", "--json", "--runtime-dir", daemon.dir], check=False).stdout
    try:
        vrrp = json.loads(out)["result"]["vrrp"] or {}
    except (ValueError, KeyError, TypeError):
        return {}
    return next((i for i in vrrp.get("instances") or () if i["name"] == name), {})


def accepted(lab, daemon: Daemon, name: str) -> int:
    return instance_status(lab, daemon, name).get("counters", {}).get("adverts_received", 0)


@pytest.mark.skipif(not Path(KEEPALIVED).exists(), reason="keepalived 2.2.7 is not installed")
def test_unicast_peer_ttl_bounds_against_keepalived(lab, tmp_path: Path) -> None:
    master = Daemon(lab, "lb1", "keepalived", "ttl-m",
                    unicast_conf(80, 150, "192.0.2.11", "192.0.2.12", state="MASTER"))
    strict = Daemon(lab, "lb2", "pykeepalived", "ttl-b1",
                    unicast_conf(80, 100, "192.0.2.12", "192.0.2.11", "max_ttl 254"))
    exact = Daemon(lab, "lb2", "pykeepalived", "ttl-b2",
                   unicast_conf(80, 100, "192.0.2.12", "192.0.2.11", "min_ttl 255 max_ttl 255"))
    try:
        master.start(tmp_path)
        wait_vip(lab, "lb1", VIP, 10)
        # every keepalived advert arrives with TTL 255 > max_ttl 254: dropped, so we take over
        strict.start(tmp_path)
        wait_vip(lab, "lb2", VIP, 10)
        st = instance_status(lab, strict, "VI_80")
        assert st["state"] == "MASTER" and st["counters"]["drops"].get("ttl", 0) >= 1, st
        assert st["counters"]["adverts_received"] == 0, st
        strict.stop()
        wait_vip(lab, "lb2", VIP, 3, present=False)

        # bounds that hold TTL 255: keepalived's adverts count, we stay backup
        exact.start(tmp_path)
        wait_for(lambda: accepted(lab, exact, "VI_80") >= 3, 10,
                 "no advert from keepalived accepted")
        st = instance_status(lab, exact, "VI_80")
        assert st["state"] == "BACKUP" and st["counters"]["drops"].get("ttl", 0) == 0, st
        assert not has_vip(lab, "lb2", VIP)
    finally:
        for d in (strict, exact, master):
            if d.running():
                d.stop()
    assert not has_vip(lab, "lb1", VIP) and not has_vip(lab, "lb2", VIP)


VIPS = {4: ("192.0.2.230", "192.0.2.231"), 6: ("2001:db8::230", "2001:db8::231")}


def garp_conf(interval: float, family: int = 4) -> str:
    a, b = VIPS[family]
    return f"""global_defs {{
    vrrp_{"garp" if family == 4 else "gna"}_interval {interval:g}
    vrrp_garp_master_delay 0
}}
vrrp_instance VI_81 {{
    state MASTER
    interface eth0
    virtual_router_id 81
    priority 150
    advert_int 0.2
    version 3
    garp_master_repeat 4
    virtual_ipaddress {{
        {a}/{24 if family == 4 else 64}
        {b}/{24 if family == 4 else 64}
    }}
}}
"""


def garp_times(lab, tmp_path: Path, interval: float, family: int = 4) -> list[float]:
    """Receive times on the client of the gratuitous ARPs (IPv6: unsolicited NAs) of one takeover."""
    daemon = Daemon(lab, "lb1", "pykeepalived", f"garp-{family}-{interval:g}", garp_conf(interval, family))
    try:
        with lab.capture("client", "eth0", "arp" if family == 4 else "icmp6") as cap:
            daemon.start(tmp_path)
            wait_for(lambda: len(garps(cap.lines("-tt"), family)) >= 8, 15, "fewer than 8 announcements")
    finally:
        daemon.stop()
    return garps(cap.lines("-tt"), family)


def garps(lines: list[str], family: int = 4) -> list[float]:
    pattern = (r"who-has (192\.0\.2\.23[01]) (\(ff:ff:ff:ff:ff:ff\) )?tell \1," if family == 4
               else r"neighbor advertisement, tgt is 2001:db8::23[01],")
    return [float(ln.split()[0]) for ln in lines if re.search(pattern, ln)]


@pytest.mark.parametrize("family", [4, 6], ids=["garp", "gna"])
def test_garp_interval_spaces_the_burst(lab, tmp_path: Path, family: int) -> None:
    spaced = garp_times(lab, tmp_path, 0.1, family)
    gaps = [spaced[i + 1] - spaced[i] for i in range(len(spaced) - 1)]
    assert len(spaced) == 8, spaced  # 4 rounds over 2 VIPs
    assert min(gaps) >= 0.099, gaps  # never sooner than asked (a loaded machine may be later)
    assert spaced[-1] - spaced[0] < 7 * 0.1 + 2, gaps
    back_to_back = garp_times(lab, tmp_path, 0, family)
    assert len(back_to_back) == 8 and back_to_back[-1] - back_to_back[0] < 0.5, back_to_back
    print(f"\nIPv{family} interval 0.1: gaps {', '.join(f'{g * 1000:.0f}' for g in gaps)} ms; "
          f"interval 0: burst over {(back_to_back[-1] - back_to_back[0]) * 1000:.1f} ms")


def test_notify_priority_changes_fifo_line(lab, tmp_path: Path) -> None:
    lab.exec("lb1", ["mkdir", "-p", D])
    lab.exec("lb1", ["tee", f"{D}/fifo.sh"], input=f'#!/bin/sh\nexec cat "$1" >> {D}/fifo.log\n')
    lab.exec("lb1", ["chmod", "755", f"{D}/fifo.sh"])
    lab.exec("lb1", ["sh", "-c", f"echo 0 > {D}/weight"])
    config = f"""global_defs {{
    notify_fifo {D}/all.fifo
    notify_fifo_script {D}/fifo.sh
}}
track_file tf {{
    file {D}/weight
    weight 1
}}
vrrp_instance VI_82 {{
    state MASTER
    interface eth0
    virtual_router_id 82
    priority 150
    advert_int 0.2
    version 3
    notify_priority_changes
    track_file {{
        tf
    }}
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"""
    daemon = Daemon(lab, "lb1", "pykeepalived", "prio", config)
    log = lambda: lab.exec("lb1", ["cat", f"{D}/fifo.log"], check=False).stdout.splitlines()  # noqa: E731
    try:
        daemon.start(tmp_path)
        wait_for(lambda: 'INSTANCE "VI_82" MASTER 150' in log(), 10, "never MASTER")
        lab.exec("lb1", ["sh", "-c", f"echo -20 > {D}/weight.new && mv {D}/weight.new {D}/weight"])
        wait_for(lambda: 'INSTANCE "VI_82" MASTER_PRIORITY 130' in log(), 10, f"no priority line: {log()}")
    finally:
        daemon.stop()
        lab.exec("lb1", ["rm", "-rf", D])
    assert not has_vip(lab, "lb1", VIP)
