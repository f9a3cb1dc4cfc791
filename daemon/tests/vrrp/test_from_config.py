"""vrrp_instance (config model) -> RouterConfig and VIP specs (vrrp/from_config.py)."""
from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv6Address

from pykeepalived.config.loader import loads_config
from pykeepalived.vrrp import AuthType, State
from pykeepalived.vrrp.from_config import multicast_group, router_config
from pykeepalived.vrrp.instance import vip_specs

CONF = """
global_defs {
    vrrp_garp_master_delay 2
    vrrp_garp_master_refresh 30
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 120
    advert_int 2
    nopreempt
    garp_master_repeat 3
    authentication {
        auth_type PASS
        auth_pass s3cr3t
    }
    virtual_ipaddress {
        192.0.2.100/24 dev eth1 label eth1:vip scope global
        192.0.2.101
    }
    virtual_ipaddress_excluded {
        198.51.100.1/24
    }
}
vrrp_instance VI_6 {
    interface eth0
    virtual_router_id 52
    advert_int 0.5
    virtual_ipaddress {
        2001:db8::100/64
    }
}
"""


def test_router_config_from_instance() -> None:
    config, diags = loads_config(CONF)
    assert not diags.errors, diags.sorted()
    inst = config.vrrp_instances["VI_1"]
    rc = router_config(inst, config, IPv4Address("192.0.2.11"))
    assert (rc.vrid, rc.priority, rc.version, rc.advert_interval) == (51, 120, 2, 2.0)
    assert rc.virtual_addresses == (IPv4Address("192.0.2.100"), IPv4Address("192.0.2.101"))
    assert not rc.preempt and rc.initial_state is State.MASTER
    assert rc.auth_type is AuthType.SIMPLE and rc.auth_pass == b"s3cr3t"
    # instance setting wins, else global_defs
    assert (rc.garp_master_repeat, rc.garp_master_delay, rc.garp_master_refresh) == (3, 2, 30)
    specs = vip_specs(inst)
    assert [(str(s.address), s.dev, s.label, s.scope) for s in specs] == [
        ("192.0.2.100/24", "eth1", "eth1:vip", "global"), ("192.0.2.101/32", "eth0", None, None),
        ("198.51.100.1/24", "eth0", None, None)]
    assert specs[1].address == IPv4Interface("192.0.2.101/32")


def test_ipv6_instance_is_v3_on_ff02_12() -> None:
    config, _ = loads_config(CONF)
    inst = config.vrrp_instances["VI_6"]
    rc = router_config(inst, config, IPv6Address("fe80::1"))
    assert rc.version == 3 and rc.advert_interval == 0.5 and rc.auth_type is AuthType.NONE
    assert multicast_group(inst, config) == IPv6Address("ff02::12")


def test_split_brain_garp_is_on_but_off_in_strict_mode_or_by_keyword() -> None:
    address = IPv4Address("192.0.2.11")
    config, _ = loads_config(CONF)
    assert router_config(config.vrrp_instances["VI_1"], config, address).split_brain_garp
    for globals_ in ("vrrp_strict", "pykeepalived_split_brain_garp off"):
        text = CONF.replace("global_defs {", "global_defs {\n    " + globals_, 1)
        config, diags = loads_config(text)
        inst = next(iter(config.vrrp_instances.values()))
        assert not router_config(inst, config, address).split_brain_garp, globals_


UNICAST = """
vrrp_instance VI_U {
    interface eth0
    virtual_router_id 60
    unicast_src_ip 192.0.2.11
    unicast_peer {
        192.0.2.12 min_ttl 254 max_ttl 255
        192.0.2.13 max_ttl 200
        192.0.2.14
    }
    virtual_ipaddress {
        192.0.2.100
    }
}
"""


def test_unicast_peer_ttl_bounds_reach_the_router_config() -> None:
    config, diags = loads_config(UNICAST)
    assert not diags.errors, diags.sorted()
    rc = router_config(config.vrrp_instances["VI_U"], config, IPv4Address("192.0.2.11"))
    assert rc.unicast_peer_ttls == ((254, 255), (0, 200), (0, 255))


def test_min_ttl_above_max_ttl_is_an_error_on_its_line() -> None:
    _config, diags = loads_config(UNICAST.replace("max_ttl 200", "min_ttl 201 max_ttl 200"), "u.conf")
    assert [str(e) for e in diags.errors] == [
        "u.conf:8:9: error: unicast_peer 192.0.2.13: min_ttl 201 above max_ttl 200 "
        "(every advert from it would be dropped)"]


def test_virtual_and_static_routing_specs() -> None:
    from pykeepalived.net.routes import NexthopSpec, RouteSpec, RuleSpec
    from pykeepalived.vrrp.routing import static_addresses, static_routing, virtual_routing

    text = ("global_defs {\n default_interface eth9\n}\n"
            "static_ipaddress {\n 192.0.2.50/24\n 192.0.2.51 dev eth1 scope link\n}\n"
            "static_routes {\n 10.0.0.0/8 via 192.0.2.1 or 192.0.2.2 dev eth0 table 5\n}\n"
            "static_rules {\n from 10.0.0.0/8 table 5 protocol 4\n}\n"
            + UNICAST.replace("    virtual_ipaddress {", "    virtual_routes {\n        blackhole 10.9.0.0/16\n"
                              "    }\n    virtual_ipaddress {"))
    config, diags = loads_config(text)
    assert not diags.errors, diags.sorted()
    assert [(str(a.address), a.dev, a.scope) for a in static_addresses(config)] == [
        ("192.0.2.50/24", "eth9", None), ("192.0.2.51/32", "eth1", "link")]
    assert static_routing(config) == [
        RouteSpec(4, ("10.0.0.0", 8), table=5, nexthops=(NexthopSpec("192.0.2.1", "eth0"), NexthopSpec("192.0.2.2", "eth0"))),
        RuleSpec(4, table=5, src=("10.0.0.0", 8), protocol=4)]
    assert virtual_routing(config.vrrp_instances["VI_U"]) == [RouteSpec(4, ("10.9.0.0", 16), type="blackhole")]
