"""keepalived 2.2's VRRP timing and addressing keywords: down_timer_adverts (vrrp_down_timer_adverts),
vrrp_startup_delay, mcast_dst_ip, unicast_fault_no_peer: parsed with located errors, mapped onto
the state machine, and the state machine's timers (pure: time is a parameter)."""
from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.vrrp.events import State, StateChanged, TransitionReason
from pykeepalived.vrrp.from_config import router_config
from pykeepalived.vrrp.fsm import VrrpRouter
from pykeepalived.vrrp.packet import Advertisement
from pykeepalived.vrrp.router_config import RouterConfig

ME = IPv4Address("192.0.2.1")
PEER = IPv4Address("192.0.2.2")
VIPS = (IPv4Address("192.0.2.100"),)


def instance(body: str = "", vip: str = "192.0.2.100", glob: str = "") -> str:
    return (f"global_defs {{\n{glob}}}\n" if glob else "") + (
        "vrrp_instance VI {\n    interface eth0\n    virtual_router_id 51\n" + body +
        f"    virtual_ipaddress {{\n        {vip}\n    }}\n}}\n")


def routers(text: str, address=ME) -> RouterConfig:
    config, diags = loads_config(text, "k.conf")
    assert not diags.errors, [str(e) for e in diags.errors]
    return router_config(config.vrrp_instances["VI"], config, address)


def errors(text: str) -> list[str]:
    return [str(e) for e in loads_config(text, "k.conf")[1].errors]


def test_down_timer_adverts_instance_then_global_then_3() -> None:
    assert routers(instance()).down_timer_adverts == 3
    assert routers(instance(glob="    vrrp_down_timer_adverts 7\n")).down_timer_adverts == 7
    assert routers(instance("    down_timer_adverts 2\n", glob="    vrrp_down_timer_adverts 7\n")).down_timer_adverts == 2
    assert errors(instance("    down_timer_adverts 101\n")) == [
        "k.conf:4:5: error: down_timer_adverts: value must be at most 100 (got 101)"]
    assert errors(instance(glob="    vrrp_down_timer_adverts 0\n"))[0].startswith("k.conf:2:5: error: vrrp_down_timer_adverts")


def test_a_backup_waits_down_timer_adverts_intervals() -> None:
    r = VrrpRouter(RouterConfig(vrid=51, priority=100, address=ME, virtual_addresses=VIPS, down_timer_adverts=5))
    r.start(0.0)
    skew = 156 / 256
    assert r.next_deadline() == pytest.approx(5 + skew)
    r.receive(Advertisement(2, 51, 150, 1, VIPS, auth_data=bytes(8)), PEER, 10.0)
    assert r.next_deadline() == pytest.approx(15 + skew)
    r.handle_timer(15 + skew - 0.01)
    assert r.state is State.BACKUP
    r.handle_timer(15 + skew)
    assert r.state is State.MASTER


def test_mcast_dst_ip_is_the_instance_s_group() -> None:
    assert routers(instance("    mcast_dst_ip 224.0.0.100\n")).group == IPv4Address("224.0.0.100")
    assert routers(instance(glob="    vrrp_mcast_group4 224.0.0.19\n")).group == IPv4Address("224.0.0.19")
    six = routers(instance("    mcast_dst_ip ff02::100\n", vip="2001:db8::100"), IPv6Address("fe80::1"))
    assert six.group == IPv6Address("ff02::100")
    assert errors(instance("    mcast_dst_ip 192.0.2.9\n")) == [
        "k.conf:4:18: error: mcast_dst_ip: '192.0.2.9' is not an IPv4 multicast or IPv6 link-local multicast address"]
    assert errors(instance("    mcast_dst_ip ff05::1\n", vip="2001:db8::100"))[0].startswith("k.conf:4:18: error:")
    assert errors(instance("    mcast_dst_ip ff02::100\n")) == [
        "k.conf:4:5: error: mcast_dst_ip ff02::100 is not the instance's address family (IPv4)"]


def test_unicast_fault_no_peer_is_a_flag() -> None:
    config, diags = loads_config(instance("    unicast_fault_no_peer\n"), "k.conf")
    assert not diags.errors and config.vrrp_instances["VI"].unicast_fault_no_peer


def test_startup_delay_keyword() -> None:
    config, _diags = loads_config(instance(glob="    vrrp_startup_delay 5.5\n"), "k.conf")
    assert config.global_defs.vrrp_startup_delay == 5.5
    assert errors(instance(glob="    vrrp_startup_delay 0\n"))[0].startswith("k.conf:2:5: error: vrrp_startup_delay")


def held(priority: int = 100, **kw) -> VrrpRouter:
    r = VrrpRouter(RouterConfig(vrid=51, priority=priority, address=ME, virtual_addresses=VIPS, **kw))
    r.hold_until = 10.0
    r.start(0.0)
    return r


def test_startup_delay_backup_counts_from_the_end_of_the_delay() -> None:
    r = held()
    mdi = 3 + 156 / 256
    assert r.next_deadline() == pytest.approx(10 + mdi)
    r.receive(Advertisement(2, 51, 150, 1, VIPS, auth_data=bytes(8)), PEER, 4.0)  # a master heard in the delay
    assert r.next_deadline() == pytest.approx(10 + mdi)
    r.receive(Advertisement(2, 51, 150, 1, VIPS, auth_data=bytes(8)), PEER, 11.0)  # after it: as usual
    assert r.next_deadline() == pytest.approx(11 + mdi)


def test_startup_delay_holds_state_master_and_the_owner_too() -> None:
    r = held(initial_state=State.MASTER)
    assert r.next_deadline() == pytest.approx(10 + 1 + 1 / 256)
    owner = held(priority=255)
    assert owner.state is State.BACKUP and owner.next_deadline() == 10.0
    owner.actions()
    owner.handle_timer(10.0)
    assert owner.state is State.MASTER
    assert StateChanged(State.BACKUP, State.MASTER, TransitionReason.ADDRESS_OWNER) in owner.actions()


def test_without_a_delay_the_owner_is_master_at_once() -> None:
    r = VrrpRouter(RouterConfig(vrid=51, priority=255, address=ME, virtual_addresses=VIPS))
    r.start(0.0)
    assert r.state is State.MASTER


def test_vrrp_min_garp_lowers_only_what_is_not_given() -> None:
    rc = routers(instance(glob="    vrrp_min_garp\n"))
    assert (rc.garp_master_repeat, rc.garp_master_delay, rc.garp_master_refresh, rc.lower_prio_repeat) == (1, 0, 0, 1)
    rc = routers(instance(glob="    vrrp_min_garp\n    vrrp_garp_master_delay 3\n"))
    assert (rc.garp_master_repeat, rc.garp_master_delay) == (1, 3)
    rc = routers(instance("    garp_master_repeat 4\n", glob="    vrrp_min_garp on\n"))
    assert rc.garp_master_repeat == 4  # an instance's own setting wins, as ever
    rc = routers(instance(glob="    vrrp_min_garp off\n"))
    assert (rc.garp_master_repeat, rc.garp_master_delay) == (5, 5)


def test_a_name_keepalived_never_had_is_unknown() -> None:
    assert errors(instance(glob="    vrrp_garp_lower_prio_master_delay 3\n")) == [
        "k.conf:2:5: error: unknown keyword 'vrrp_garp_lower_prio_master_delay' in global_defs; "
        "did you mean 'vrrp_garp_lower_prio_delay'?"]


def test_unicast_ttl_needs_unicast_peers() -> None:
    peers = "    unicast_peer {\n        192.0.2.2\n    }\n"
    config, diags = loads_config(instance("    unicast_ttl 64\n" + peers), "k.conf")
    assert not diags.errors and config.vrrp_instances["VI"].unicast_ttl == 64
    assert errors(instance("    unicast_ttl 64\n")) == [
        "k.conf:4:5: error: unicast_ttl needs unicast_peer (multicast adverts keep TTL 255)"]
    assert errors(instance("    unicast_ttl 256\n" + peers))[0].startswith("k.conf:4:5: error: unicast_ttl")
