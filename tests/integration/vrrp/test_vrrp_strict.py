"""Strict mode and Accept_Mode in the lab (lab "five"), against Debian's keepalived.

The VRRP part of keepalived's sample keepalived.conf (vrrp_strict, PASS
authentication, ``state MASTER`` at priority 100) runs as keepalived runs
it: authentication ignored on both sides (they agree on the wire), both
start as backup, and the elected master's VIP resolves (ARP) but takes no
IP traffic (Accept_Mode off: keepalived's ``keepalived`` table, our
``inet pykeepalived_vrrp``).  ``accept`` with VRRPv3 opens it again after a
reload; stopping the daemon removes our table.
"""
from __future__ import annotations

from pathlib import Path

from .vrrp_hosts import Daemon, has_vip, ping, wait_for, wait_vip

LAB_TOPOLOGY = "five"
VIP = "192.0.2.207"


def sample(priority: int, version: int = 2, extra: str = "") -> str:
    """keepalived's sample config, VRRP part, on the lab's addresses."""
    return f"""\
global_defs {{
   router_id LVS_DEVEL
   vrrp_skip_check_adv_addr
   vrrp_strict
   vrrp_garp_interval 0
   vrrp_gna_interval 0
   vrrp_version {version}
}}

vrrp_instance VI_1 {{
    state MASTER
    interface eth0
    virtual_router_id 57
    priority {priority}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass 1111
    }}
    virtual_ipaddress {{
        {VIP}/24
    }}
{extra}}}
"""


def tables(lab, host: str) -> str:
    return lab.exec(host, ["nft", "list", "tables"], check=False).stdout


def resolved_mac(lab, address: str) -> str | None:
    """The client's neighbour entry for ``address`` (the ARP answer), if any."""
    words = lab.exec("client", ["ip", "neigh", "show", address, "dev", "eth0"]).stdout.split()
    return words[words.index("lladdr") + 1] if "lladdr" in words else None


def mac(lab, host: str) -> str:
    words = lab.exec(host, ["ip", "-o", "link", "show", "dev", "eth0"]).stdout.split()
    return words[words.index("link/ether") + 1]


def test_sample_config_interoperates_and_drops_vip_traffic(lab, tmp_path: Path) -> None:
    ours = Daemon(lab, "lb1", "pykeepalived", "strict-m", sample(150))
    theirs = Daemon(lab, "lb2", "keepalived", "strict-b", sample(100))
    try:
        theirs.start(tmp_path)
        ours.start(tmp_path)
        # both start as backup (strict: state follows ownership); the higher priority wins
        wait_vip(lab, "lb1", VIP, 8)
        assert not has_vip(lab, "lb2", VIP), "keepalived did not accept our (authentication-free) adverts"
        assert "inet pykeepalived_vrrp" in tables(lab, "lb1")
        assert not ping(lab, "client", VIP), "no_accept: the VIP must not answer IP traffic"
        assert resolved_mac(lab, VIP) == mac(lab, "lb1"), "the VIP must still resolve to the master"

        # the other way round: keepalived master, our daemon backup, then a takeover by us
        ours.stop()
        wait_vip(lab, "lb2", VIP, 6)
        assert "inet pykeepalived_vrrp" not in tables(lab, "lb1"), "our table outlived the daemon"
        ours.config = sample(150)
        ours.start(tmp_path)
        wait_vip(lab, "lb1", VIP, 8)  # preemption
        wait_vip(lab, "lb2", VIP, 4, present=False)

        # VRRPv3 + accept on both: the VIP serves traffic after a reload (no restart)
        theirs.stop()
        ours.config = sample(150, 3, "    accept\n")
        ours.write_config()
        ours.kill("HUP")
        wait_for(lambda: "pykeepalived_vrrp" not in tables(lab, "lb1"), 5, "reload kept the drop table")
        wait_vip(lab, "lb1", VIP, 8)  # the changed instance restarts (as backup: strict) and takes over
        assert ping(lab, "client", VIP)
    finally:
        for d in (ours, theirs):
            if d.running():
                d.stop()
    assert not has_vip(lab, "lb1", VIP) and not has_vip(lab, "lb2", VIP), "a VIP was left behind"
    assert "pykeepalived_vrrp" not in tables(lab, "lb1")
