"""Adverts from a host that is not a peer (lab "five": the client forges them).

RFC 5798 7.1 asks for TTL 255 so nobody off the link can speak VRRP; a
unicast-addressed advert has no such guard, so in multicast mode only adverts
to the group count, and in unicast mode only adverts from a configured peer.
Each forged advert claims priority 254 for the pair's VRID: accepted once,
it would take the master's VIP away (and with one per second, keep it from
both load balancers).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .vrrp_cases import dump, global_defs, instance, stop_all, vips, vrrp_instance, wait_vips
from .vrrp_hosts import Daemon

LAB_TOPOLOGY = "five"
VIP = "192.0.2.212"
LB1, LB2, CLIENT = "192.0.2.11", "192.0.2.12", "192.0.2.100"
FORGE = str(Path(__file__).with_name("forge.py"))
SENT = 10  # forged adverts per case, 0.1 s apart


@pytest.fixture
def pair(lab, tmp_path: Path):
    started: list[Daemon] = []

    def make(vrid: int, extra_m: str = "", extra_b: str = "") -> tuple[Daemon, Daemon]:
        m = Daemon(lab, "lb1", "pykeepalived", f"ho-m{vrid}",
                   global_defs() + instance("VI_1", vrid, 150, f"{VIP}/24", extra=extra_m))
        b = Daemon(lab, "lb2", "pykeepalived", f"ho-b{vrid}",
                   global_defs() + instance("VI_1", vrid, 100, f"{VIP}/24", extra=extra_b))
        started.extend((m, b))
        b.start(tmp_path)
        m.start(tmp_path)
        wait_vips(lab, "lb1", {VIP}, 15)  # a start on a loaded machine: the bound is not the point
        return m, b

    yield make
    stop_all(*started)
    for host in ("lb1", "lb2"):
        assert VIP not in vips(lab, host), f"the VIP was left on {host}"


def forge(lab, src: str, dst: str, vrid: int, ttl: int) -> None:
    lab.exec("client", [sys.executable, FORGE, src, dst, str(vrid), "254", str(ttl), "3",
                        str(SENT), "0.1", VIP], timeout=30)


def held_throughout(lab, m: Daemon) -> dict:
    st = vrrp_instance(dump(m), "VI_1")
    assert st["state"] == "MASTER" and st["counters"]["released_master"] == 0, st
    assert VIP in vips(lab, "lb1") and VIP not in vips(lab, "lb2")
    return st["counters"]["drops"]


@pytest.mark.parametrize("ttl", [64, 255])
def test_multicast_mode_ignores_adverts_to_our_own_address(lab, pair, ttl: int) -> None:
    m, _ = pair(90 + ttl % 2)
    forge(lab, CLIENT, LB1, 90 + ttl % 2, ttl)
    assert held_throughout(lab, m)["destination"] == SENT


def test_multicast_mode_ignores_a_group_advert_with_ttl_below_255(lab, pair) -> None:
    m, b = pair(92)
    forge(lab, CLIENT, "224.0.0.18", 92, 64)
    assert held_throughout(lab, m)["ttl"] == SENT
    assert vrrp_instance(dump(b), "VI_1")["counters"]["drops"]["ttl"] == SENT


def test_unicast_mode_ignores_adverts_from_a_stranger(lab, pair) -> None:
    def uni(me: str, peer: str) -> str:
        return f"    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n"

    m, b = pair(93, uni(LB1, LB2), uni(LB2, LB1))
    forge(lab, CLIENT, LB1, 93, 255)
    assert held_throughout(lab, m)["peer"] == SENT
    assert vrrp_instance(dump(b), "VI_1")["counters"]["adverts_received"] >= 3  # the real peer still counts
