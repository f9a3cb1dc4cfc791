"""Multihop BFD (RFC 5883, keepalived 2.3's ``multihop``) across a router in the lab.

alpha and beta sit on two segments with a router between (lab topology
"two-segments"), so each one's packets reach the other with a TTL one lower
than sent. Both run pykeepalived (keepalived 2.2.7 has no multihop): a
session on UDP 4784 with ``max_hops 1`` comes Up and brings up the VRRP
instance that tracks it; a reload to ``max_hops 0`` (a timers-only change:
the session is kept) makes alpha drop every packet for its TTL, and the
session falls, taking the VIP with it.
"""
from __future__ import annotations

from pathlib import Path

from vrrp.vrrp_hosts import Daemon, conf, wait_for, wait_vip

from .bfd_hosts import bfd_status, track_bfd

LAB_TOPOLOGY = "two-segments"

ALPHA, BETA = "10.10.1.10", "10.10.2.10"
VIP_ALPHA, VIP_BETA = "10.10.1.100", "10.10.2.100"


def multihop_conf(neighbor: str, source: str, vrid: int, vip: str, max_hops: int) -> str:
    """One multihop session (200 ms x 5: a loaded machine does not drop it by itself) and a lone
    MASTER instance that faults while it is not Up (weight 0)."""
    return f"""bfd_instance far {{
    neighbor_ip {neighbor}
    source_ip {source}
    min_rx 200
    min_tx 200
    multiplier 5
    multihop
    max_hops {max_hops}
}}
""" + conf(vrid, 100, vip, state="MASTER", extra=track_bfd("far"))


def test_a_multihop_session_across_a_router(lab, tmp_path: Path) -> None:
    alpha = Daemon(lab, "alpha", "pykeepalived", "bfd-mh", multihop_conf(BETA, ALPHA, 71, VIP_ALPHA, 1))
    beta = Daemon(lab, "beta", "pykeepalived", "bfd-mh", multihop_conf(ALPHA, BETA, 72, VIP_BETA, 1))
    try:
        alpha.start(tmp_path)
        beta.start(tmp_path)
        wait_vip(lab, "alpha", VIP_ALPHA, 30)  # Up on both ends: each instance leaves FAULT
        wait_vip(lab, "beta", VIP_BETA, 30)
        session = bfd_status(alpha)["sessions"]["far"]
        assert session["state"] == "UP" and session["port"] == 4784 and session["drops"] == {}, session
        sniff = lab.exec("alpha", ["timeout", "5", "tcpdump", "-c", "3", "-nni", "eth0", "-v", "udp"],
                         check=False).stdout
        assert f"> {ALPHA}.4784:" in sniff and "ttl 254" in sniff, sniff  # beta's, one hop away, to 4784

        alpha.config = multihop_conf(BETA, ALPHA, 71, VIP_ALPHA, 0)
        alpha.write_config()
        alpha.kill("HUP")
        wait_vip(lab, "alpha", VIP_ALPHA, 30, present=False)
        wait_for(lambda: bfd_status(alpha)["sessions"]["far"]["drops"].get("ttl", 0) > 0, 10, "no TTL drop counted")
        assert bfd_status(alpha)["sessions"]["far"]["state"] != "UP"
    finally:
        for d in (alpha, beta):
            if d.running():
                d.stop()
