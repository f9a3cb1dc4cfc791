"""IPVS messages without a kernel: what we send (read back by pyroute2's own IPVS decoder, an
independent reading of linux/ip_vs.h) and how dumps are read back."""

from __future__ import annotations

import pytest
from pyroute2.netlink.generic.ipvs import ipvsmsg

from pykeepalived.config.model_lvs import Tunnel
from pykeepalived.lb.ipvs import (
    CMD_ATTR_DEST,
    CMD_ATTR_SERVICE,
    DEST_ACTIVE_CONNS,
    DEST_FWD_METHOD,
    DEST_INACT_CONNS,
    SVC_FLAGS,
    U32,
    Decoded,
    dest_from_attrs,
    encode_dest,
    encode_op,
    encode_service,
    nested,
    settings,
    spec_from_attrs,
)
from pykeepalived.lb.table import Dest, Op, ServiceKey, ServiceSpec
from pykeepalived.net.rtnl import attributes, encode_attr

FAMILY = 0x1F  # any generic netlink family id


def pyroute2_reads(message: bytes) -> dict:
    """{command attribute name: {attribute name: value}} as pyroute2 decodes the message."""
    msg = ipvsmsg(message)
    msg.decode()
    return {name: dict(value["attrs"]) for name, value, *_ in msg["attrs"]} | {"cmd": msg["cmd"]}


def inner(encoded: bytes) -> dict[int, bytes]:
    """The attributes nested in one encoded IPVS_CMD_ATTR_* attribute."""
    return attributes(next(iter(attributes(encoded, 0).values())), 0)


@pytest.mark.parametrize("spec,netmask", [
    (ServiceSpec(ServiceKey.ip("TCP", "192.0.2.1", 80), "rr", True, 300, 24), "255.255.255.0"),
    (ServiceSpec(ServiceKey.ip("UDP", "2001:db8::1", 53), "sh"), "128.0.0.0"),  # host-order prefix length
    (ServiceSpec(ServiceKey.mark(4, 7), "wlc"), "255.255.255.255"),
])
def test_service_sent_and_read_back(spec: ServiceSpec, netmask: str) -> None:
    sent = pyroute2_reads(encode_op(FAMILY, Op("add", spec)))
    svc = sent["IPVS_CMD_ATTR_SERVICE"]
    assert sent["cmd"] == 1 and svc["IPVS_SVC_ATTR_NETMASK"] == netmask
    assert svc["IPVS_SVC_ATTR_SCHED_NAME"] == spec.sched and svc["IPVS_SVC_ATTR_TIMEOUT"] == spec.timeout
    if spec.key.fwmark:
        assert svc["IPVS_SVC_ATTR_FWMARK"] == spec.key.fwmark
    else:
        assert (svc["IPVS_SVC_ATTR_ADDR"], svc["IPVS_SVC_ATTR_PORT"]) == (spec.key.addr, spec.key.port)
    back = inner(encode_service(spec))
    back[SVC_FLAGS] = U32.pack(U32.unpack(back[SVC_FLAGS][:4])[0] | 0x2) + back[SVC_FLAGS][4:]  # + HASHED
    assert spec_from_attrs(back) == spec


def test_delete_names_the_service_only() -> None:
    spec = ServiceSpec(ServiceKey.ip("TCP", "192.0.2.1", 80), "rr")
    svc = pyroute2_reads(encode_op(FAMILY, Op("del", spec)))["IPVS_CMD_ATTR_SERVICE"]
    assert set(svc) == {"IPVS_SVC_ATTR_AF", "IPVS_SVC_ATTR_PROTOCOL", "IPVS_SVC_ATTR_ADDR", "IPVS_SVC_ATTR_PORT"}


@pytest.mark.parametrize("raw,method", [(0, "NAT"), (1, "LOCAL"), (2, "TUN"), (3, "DR"), (0x100 | 3, "DR")])
def test_dest_method_from_raw_attribute(raw: int, method: str) -> None:
    a = inner(encode_dest(Dest("10.1.0.1", 80, "NAT", 2)))
    a.update({DEST_FWD_METHOD: U32.pack(raw), DEST_ACTIVE_CONNS: U32.pack(4), DEST_INACT_CONNS: U32.pack(5)})
    d = dest_from_attrs(a)
    assert (d.addr, d.port, d.method, d.weight, d.active, d.inactive) == ("10.1.0.1", 80, method, 2, 4, 5)


def test_dest_sends_thresholds_and_method_with_its_service() -> None:
    spec = ServiceSpec(ServiceKey.ip("TCP", "2001:db8::1", 80), "wrr")
    sent = pyroute2_reads(encode_op(FAMILY, Op("set", spec, Dest("2001:db8::a", 8080, "NAT", 3, 100, 10))))
    dest = sent["IPVS_CMD_ATTR_DEST"]
    assert sent["cmd"] == 6 and "IPVS_SVC_ATTR_SCHED_NAME" not in sent["IPVS_CMD_ATTR_SERVICE"]
    assert (dest["IPVS_DEST_ATTR_ADDR"], dest["IPVS_DEST_ATTR_PORT"], dest["IPVS_DEST_ATTR_FWD_METHOD"],
            dest["IPVS_DEST_ATTR_WEIGHT"], dest["IPVS_DEST_ATTR_U_THRESH"],
            dest["IPVS_DEST_ATTR_L_THRESH"]) == ("2001:db8::a", 8080, 0, 3, 100, 10)


def test_update_is_refused_not_sent() -> None:
    with pytest.raises(ValueError, match="update"):
        encode_op(FAMILY, Op("update", ServiceSpec(ServiceKey.mark(4, 1))))


@pytest.mark.parametrize("tunnel,raw", [
    (Tunnel(), (0, 0, 0)),
    (Tunnel("gue", 6080, "csum"), (1, 0xC017, 1)),  # the port goes out big-endian: 6080 = 0x17C0
    (Tunnel("gue", 5555, "remcsum"), (1, 0xB315, 2)),
    (Tunnel("gre", 0, "csum"), (2, 0, 1)),
])
def test_tunnel_options_sent_and_read_back(tunnel: Tunnel, raw: tuple[int, int, int]) -> None:
    d = Dest("10.1.0.1", 80, "TUN", 1, tunnel=tunnel)
    sent = pyroute2_reads(encode_op(FAMILY, Op("add", ServiceSpec(ServiceKey.mark(4, 1)), d)))["IPVS_CMD_ATTR_DEST"]
    # pyroute2 declares the tunnel port a host-order uint16: it reads the big-endian bytes swapped
    assert (sent["IPVS_DEST_ATTR_TUN_TYPE"], sent["IPVS_DEST_ATTR_TUN_PORT"], sent["IPVS_DEST_ATTR_TUN_FLAGS"]) == raw
    assert dest_from_attrs(inner(encode_dest(d))) == d


def test_service_flags_sent_with_persistence_and_read_back() -> None:
    spec = ServiceSpec(ServiceKey.ip("UDP", "192.0.2.1", 53), "sh", True, 60, 32, 0x4 | 0x10)
    sent = pyroute2_reads(encode_op(FAMILY, Op("add", spec)))["IPVS_CMD_ATTR_SERVICE"]
    assert sent["IPVS_SVC_ATTR_FLAGS"]["flags"] == 0x1 | 0x4 | 0x10
    assert spec_from_attrs(inner(encode_service(spec))) == spec


def test_persistence_engine_sent_only_when_set_and_read_back() -> None:
    sip = ServiceSpec(ServiceKey.ip("UDP", "192.0.2.1", 5060), "rr", True, 60, 32, 0, "sip")
    sent = pyroute2_reads(encode_op(FAMILY, Op("set", sip)))["IPVS_CMD_ATTR_SERVICE"]
    assert sent["IPVS_SVC_ATTR_PE_NAME"] == "sip" and spec_from_attrs(inner(encode_service(sip))) == sip
    plain = ServiceSpec(ServiceKey.ip("UDP", "192.0.2.1", 5060), "rr", True, 60)
    assert "IPVS_SVC_ATTR_PE_NAME" not in pyroute2_reads(encode_op(FAMILY, Op("set", plain)))["IPVS_CMD_ATTR_SERVICE"]


def test_dump_message_bodies_are_read_through_the_nesting() -> None:
    spec = ServiceSpec(ServiceKey.ip("TCP", "192.0.2.1", 80), "rr")
    body = bytes(4) + encode_service(spec)  # a genlmsghdr, then the nested service
    assert spec_from_attrs(nested(body, CMD_ATTR_SERVICE)) == spec
    assert nested(body + encode_attr(9, b"x"), CMD_ATTR_DEST) == {}


def dest_entry(d: Dest, active: int) -> bytes:
    """A dest dump entry as the kernel lays it out: settings, then the counters."""
    return attributes(encode_dest(d), 0)[CMD_ATTR_DEST] + encode_attr(DEST_ACTIVE_CONNS, U32.pack(active))


def test_dump_decodes_an_entry_again_only_when_its_settings_changed() -> None:
    seen = []
    cache = Decoded(lambda a, af: seen.append(a) or dest_from_attrs(a, af), fixed=True)
    one, two = Dest("10.1.0.1", 80, "NAT", 1), Dest("10.1.0.2", 80, "NAT", 1)
    assert settings(dest_entry(one, 5)) == attributes(encode_dest(one), 0)[CMD_ATTR_DEST]
    assert [cache.get(dest_entry(one, 0), 4), cache.get(dest_entry(two, 0), 4)] == [one, two]
    cache.turn()
    assert [cache.get(dest_entry(one, 7), 4), cache.get(dest_entry(two, 0), 4)] == [one, two]  # counters only
    assert len(seen) == 2
    heavier = Dest("10.1.0.2", 80, "NAT", 9)
    cache.turn()
    assert cache.get(dest_entry(heavier, 0), 4) == heavier and len(seen) == 3
    cache.turn()
    assert cache.get(dest_entry(one, 0), 4) == one and len(seen) == 4  # gone from the last dump: forgotten
