"""keepalived's static_/virtual_ routes and rules over rtnetlink (net/routes.py).

Byte vectors for the encoders (rtnetlink(7), linux/fib_rules.h), then the real
kernel in a private network namespace (routes_probe.py): every kind of line is
added and removed, and the operator's own route and rule are never touched.
"""
from __future__ import annotations

import socket
import struct

import pytest

from pykeepalived.net.routes import NexthopSpec, RouteSpec, RuleSpec, encode_route, encode_rule

from .netns_probe import needs_netns, run_probe

REQUEST_ACK, CREATE_EXCL = 0x1 | 0x4, 0x400 | 0x200
RTM_NEWROUTE, RTM_DELROUTE, RTM_NEWRULE, RTM_DELRULE = 24, 25, 32, 33


def rtattr(kind: int, payload: bytes) -> bytes:
    data = struct.pack("=HH", 4 + len(payload), kind) + payload
    return data + b"\0" * (-len(data) % 4)


def u32(kind: int, value: int) -> bytes:
    return rtattr(kind, struct.pack("=I", value))


def message(kind: int, flags: int, body: bytes) -> bytes:
    return struct.pack("=IHHII", 16 + len(body), kind, flags, 0, 0) + body


def v4(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET, text)


INDEX = {"eth0": 3, "eth1": 4}.__getitem__


def test_route_via_dev_table_metric_src() -> None:
    route = RouteSpec(4, ("198.51.100.0", 24), table=100, via="192.0.2.254", dev="eth0", src="192.0.2.1", metric=5)
    # rtmsg: family, dst_len, src_len, tos, table, protocol (keepalived 18), scope (universe), type (unicast), flags
    body = (struct.pack("=BBBBBBBBI", socket.AF_INET, 24, 0, 0, 100, 18, 0, 1, 0) + u32(15, 100)
            + rtattr(1, v4("198.51.100.0")) + rtattr(5, v4("192.0.2.254")) + u32(4, 3)
            + rtattr(7, v4("192.0.2.1")) + u32(6, 5))
    assert encode_route(True, route, INDEX) == message(RTM_NEWROUTE, REQUEST_ACK | CREATE_EXCL, body)


def test_route_delete_matches_any_scope_and_names_the_protocol() -> None:
    route = RouteSpec(4, ("198.51.100.0", 24), dev="eth0")
    body = (struct.pack("=BBBBBBBBI", socket.AF_INET, 24, 0, 0, 254, 18, 255, 1, 0) + u32(15, 254)
            + rtattr(1, v4("198.51.100.0")) + u32(4, 3))
    assert encode_route(False, route, INDEX) == message(RTM_DELROUTE, REQUEST_ACK, body)


def test_route_without_gateway_is_on_link_and_big_tables_go_in_the_attribute() -> None:
    got = encode_route(True, RouteSpec(4, ("10.0.0.0", 8), dev="eth1", table=1000), INDEX)
    _family, _dst, _src, _tos, table, _proto, scope, _type, _flags = struct.unpack_from("=BBBBBBBBI", got, 16)
    assert (table, scope) == (252, 253)  # RT_TABLE_COMPAT, RT_SCOPE_LINK
    assert u32(15, 1000) in got


def test_multipath_route_carries_each_nexthop() -> None:
    route = RouteSpec(4, ("10.1.0.0", 16), nexthops=(NexthopSpec("192.0.2.252", "eth0", 3),
                                                     NexthopSpec("192.0.2.253", "eth1", 1, onlink=True)))
    gw1, gw2 = rtattr(5, v4("192.0.2.252")), rtattr(5, v4("192.0.2.253"))
    hops = (struct.pack("=HBBi", 8 + len(gw1), 0, 2, 3) + gw1 + struct.pack("=HBBi", 8 + len(gw2), 4, 0, 4) + gw2)
    body = (struct.pack("=BBBBBBBBI", socket.AF_INET, 16, 0, 0, 254, 18, 0, 1, 0) + u32(15, 254)
            + rtattr(1, v4("10.1.0.0")) + rtattr(9, hops))
    assert encode_route(True, route, INDEX) == message(RTM_NEWROUTE, REQUEST_ACK | CREATE_EXCL, body)


def test_blackhole_default_ipv6() -> None:
    got = encode_route(True, RouteSpec(6, ("::", 0), type="blackhole"), INDEX)
    assert struct.unpack_from("=BBBBBBBBI", got, 16) == (socket.AF_INET6, 0, 0, 0, 254, 18, 0, 6, 0)
    assert len(got) == 16 + 12 + 8  # no RTA_DST for a /0: only RTA_TABLE


def test_rule_from_table_priority() -> None:
    rule = RuleSpec(4, table=100, src=("192.0.2.0", 24), priority=1000)
    # fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action (to table), flags
    body = (struct.pack("=BBBBBBBBI", socket.AF_INET, 0, 24, 0, 100, 0, 0, 1, 0) + u32(15, 100)
            + rtattr(2, v4("192.0.2.0")) + u32(6, 1000) + rtattr(21, bytes([18])))
    assert encode_rule(True, rule) == message(RTM_NEWRULE, REQUEST_ACK | CREATE_EXCL, body)


def test_rule_inverted_blackhole_with_fwmark_and_iif() -> None:
    rule = RuleSpec(4, action="blackhole", dst=("10.0.0.0", 8), invert=True, iif="eth0", fwmark=0x10, fwmask=0xFF)
    body = (struct.pack("=BBBBBBBBI", socket.AF_INET, 8, 0, 0, 0, 0, 0, 6, 2) + rtattr(1, v4("10.0.0.0"))
            + rtattr(3, b"eth0\0") + u32(10, 0x10) + u32(16, 0xFF) + rtattr(21, bytes([18])))
    assert encode_rule(False, rule) == message(RTM_DELRULE, REQUEST_ACK, body)


def test_requests_match_pyroute2s_own_encoder() -> None:
    """The VRRP process does not import pyroute2 (memory); its requests are what pyroute2 would send."""
    from pyroute2.netlink.rtnl.fibmsg import fibmsg
    from pyroute2.netlink.rtnl.rtmsg import rtmsg

    def theirs(msg, kind: int, fields: dict, attrs: list) -> bytes:
        for key, value in fields.items():
            msg[key] = value
        msg["attrs"] = attrs
        msg["header"]["type"], msg["header"]["flags"] = kind, REQUEST_ACK | CREATE_EXCL
        msg.encode()
        return bytes(msg.data)

    route = RouteSpec(4, ("198.51.100.0", 24), table=100, via="192.0.2.254", dev="eth0", src="192.0.2.1", metric=5)
    assert encode_route(True, route, INDEX) == theirs(rtmsg(), RTM_NEWROUTE, {
        "family": socket.AF_INET, "dst_len": 24, "table": 100, "proto": 18, "scope": 0, "type": 1}, [
        ("RTA_TABLE", 100), ("RTA_DST", "198.51.100.0"), ("RTA_GATEWAY", "192.0.2.254"), ("RTA_OIF", 3),
        ("RTA_PREFSRC", "192.0.2.1"), ("RTA_PRIORITY", 5)])
    multipath = RouteSpec(4, ("10.1.0.0", 16), nexthops=(NexthopSpec("192.0.2.252", "eth0", 3),
                                                         NexthopSpec("192.0.2.253", onlink=True)))
    assert encode_route(True, multipath, INDEX) == theirs(rtmsg(), RTM_NEWROUTE, {
        "family": socket.AF_INET, "dst_len": 16, "table": 254, "proto": 18, "scope": 0, "type": 1}, [
        ("RTA_TABLE", 254), ("RTA_DST", "10.1.0.0"), ("RTA_MULTIPATH", [
            {"hops": 2, "oif": 3, "attrs": [("RTA_GATEWAY", "192.0.2.252")]},
            {"flags": 4, "hops": 0, "oif": 0, "attrs": [("RTA_GATEWAY", "192.0.2.253")]}])])
    rule = RuleSpec(4, table=100, src=("192.0.2.0", 24), priority=1000)
    assert encode_rule(True, rule) == theirs(fibmsg(), RTM_NEWRULE, {
        "family": socket.AF_INET, "src_len": 24, "table": 100, "action": 1}, [
        ("FRA_TABLE", 100), ("FRA_SRC", "192.0.2.0"), ("FRA_PRIORITY", 1000), ("FRA_PROTOCOL", 18)])


@pytest.fixture(scope="module")
def probe() -> dict:
    return run_probe("routes_probe.py")


@needs_netns
def test_every_line_kind_lands_in_the_kernel(probe: dict) -> None:
    added = probe["added"]
    assert "203.0.113.0/24 via 192.0.2.254 dev d0 table 100 proto keepalived src 192.0.2.1 metric 5" in added["routes4"]
    assert "10.1.0.0/16 proto keepalived" in added["routes4"]  # "via A or B": two nexthops
    assert "nexthop via 192.0.2.252 dev d0 weight 3" in added["routes4"]
    assert "blackhole 10.3.0.0/16 proto keepalived" in added["routes4"]
    assert "unreachable 10.4.0.0/16 table 1000 proto keepalived" in added["routes4"]
    assert "10.5.0.0/16 dev d0 proto keepalived scope link mtu 1400" in added["routes4"]
    assert "2001:db8:1::/48 via 2001:db8::fe dev d0 proto keepalived metric 100 pref medium" in added["routes6"]
    assert any(r.startswith("prohibit 2001:db8:2::/48") for r in added["routes6"])
    assert "1000: from 192.0.2.0/24 lookup 100 proto keepalived" in added["rules4"]
    assert "500: from 10.9.0.0/16 blackhole proto keepalived" in added["rules4"]
    assert "600: not from 10.8.0.0/16 lookup 8 proto keepalived" in added["rules4"]
    assert any("from all to 10.0.0.0/8 fwmark 0x10/0xff iif d0 lookup 1000 proto keepalived" in r
               for r in added["rules4"])
    assert any("from 2001:db8::/32 lookup 100 proto keepalived" in r for r in added["rules6"])


@needs_netns
def test_the_operators_entries_are_never_ours_nor_removed(probe: dict) -> None:
    # line 1 has the operator's destination (the kernel said "exists"); line 8 names no such device
    assert [i for i, owned in enumerate(probe["owned"]) if not owned] == [0, 7]
    assert "198.51.100.0/24 via 192.0.2.9 dev d0" in probe["added"]["routes4"]
    assert "701: from 192.0.2.128/25 lookup 7" in probe["added"]["rules4"]  # ours (700) beside it


@needs_netns
def test_remove_and_remove_all_restore_what_was_there(probe: dict) -> None:
    assert probe["removed"] == probe["before"]
    assert probe["removed_all"] == probe["before"]


@needs_netns
def test_a_crashed_daemons_entries_are_adopted_then_removed(probe: dict) -> None:
    # 14 of the 16 lines are ours (the operator's destination and the missing device are not)
    assert probe["recorded"] == 14 and probe["adopted"] == 14
    assert [i for i, owned in enumerate(probe["owned_after_adopt"]) if not owned] == [0, 7]
    assert probe["after_adopted_removed"] == probe["before"]  # the one removed by hand: harmless
    assert probe["record_after"] == [] and probe["adopted_from_garbage"] == 0
