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
