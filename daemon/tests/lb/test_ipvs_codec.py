"""IPVS attribute mapping without a kernel: what we send and how dumps are read back."""

from __future__ import annotations

import pytest

from pykeepalived.config.model_lvs import Tunnel
from pykeepalived.lb.ipvs import IpvsBackend, dest_from_attrs, spec_from_attrs, to_dest, to_service
from pykeepalived.lb.table import Dest, Op, ServiceKey, ServiceSpec


def attrs(obj) -> dict:
    return dict(obj.dump_nla()["attrs"])


@pytest.mark.parametrize("spec,netmask", [
    (ServiceSpec(ServiceKey.ip("TCP", "192.0.2.1", 80), "rr", True, 300, 24), "255.255.255.0"),
    (ServiceSpec(ServiceKey.ip("UDP", "2001:db8::1", 53), "sh"), "128.0.0.0"),  # host-order prefix length
    (ServiceSpec(ServiceKey.mark(4, 7), "wlc"), "255.255.255.255"),
])
def test_service_roundtrip(spec: ServiceSpec, netmask: str) -> None:
    sent = attrs(to_service(spec))
    assert sent["IPVS_SVC_ATTR_NETMASK"] == netmask
    assert {"IPVS_SVC_ATTR_SCHED_NAME", "IPVS_SVC_ATTR_FLAGS", "IPVS_SVC_ATTR_TIMEOUT"} <= sent.keys()
    if spec.key.fwmark:  # the kernel reports no protocol (and no address) for a fwmark service
        sent.pop("IPVS_SVC_ATTR_PROTOCOL")
    sent["IPVS_SVC_ATTR_FLAGS"] = {"flags": sent["IPVS_SVC_ATTR_FLAGS"]["flags"] | 0x2}  # + HASHED
    assert spec_from_attrs(sent) == spec


@pytest.mark.parametrize("raw,method", [(0, "NAT"), (1, "LOCAL"), (2, "TUN"), (3, "DR"), (0x100 | 3, "DR")])
def test_dest_method_from_raw_attribute(raw: int, method: str) -> None:
    d = dest_from_attrs({"IPVS_DEST_ATTR_ADDR": "10.1.0.1", "IPVS_DEST_ATTR_PORT": 80,
                         "IPVS_DEST_ATTR_FWD_METHOD": raw, "IPVS_DEST_ATTR_WEIGHT": 2,
                         "IPVS_DEST_ATTR_ACTIVE_CONNS": 4, "IPVS_DEST_ATTR_INACT_CONNS": 5})
    assert (d.method, d.weight, d.active, d.inactive) == (method, 2, 4, 5)


def test_dest_sends_thresholds_and_method() -> None:
    sent = attrs(to_dest(Dest("10.1.0.1", 80, "NAT", 3, 100, 10)))
    assert (sent["IPVS_DEST_ATTR_FWD_METHOD"], sent["IPVS_DEST_ATTR_WEIGHT"],
            sent["IPVS_DEST_ATTR_U_THRESH"], sent["IPVS_DEST_ATTR_L_THRESH"]) == (0, 3, 100, 10)


def test_update_is_refused_not_sent() -> None:
    backend = IpvsBackend.__new__(IpvsBackend)  # no socket: the check happens before any send
    [applied] = backend._apply([Op("update", ServiceSpec(ServiceKey.mark(4, 1)))])
    assert not applied.ok and "update" in applied.error


@pytest.mark.parametrize("tunnel,raw", [
    (Tunnel(), (0, 0, 0)),
    (Tunnel("gue", 6080, "csum"), (1, 0xC017, 1)),  # the port goes out big-endian: 6080 = 0x17C0
    (Tunnel("gue", 5555, "remcsum"), (1, 0xB315, 2)),
    (Tunnel("gre", 0, "csum"), (2, 0, 1)),
])
def test_tunnel_options_sent_and_read_back(tunnel: Tunnel, raw: tuple[int, int, int]) -> None:
    sent = attrs(to_dest(Dest("10.1.0.1", 80, "TUN", 1, tunnel=tunnel)))
    assert (sent["IPVS_DEST_ATTR_TUN_TYPE"], sent["IPVS_DEST_ATTR_TUN_PORT"], sent["IPVS_DEST_ATTR_TUN_FLAGS"]) == raw
    back = dest_from_attrs({**sent, "IPVS_DEST_ATTR_FWD_METHOD": 2})
    assert back == Dest("10.1.0.1", 80, "TUN", 1, tunnel=tunnel)


def test_service_flags_sent_with_persistence_and_read_back() -> None:
    spec = ServiceSpec(ServiceKey.ip("UDP", "192.0.2.1", 53), "sh", True, 60, 32, 0x4 | 0x10)
    sent = attrs(to_service(spec))
    assert sent["IPVS_SVC_ATTR_FLAGS"]["flags"] == 0x1 | 0x4 | 0x10
    sent["IPVS_SVC_ATTR_FLAGS"] = {"flags": sent["IPVS_SVC_ATTR_FLAGS"]["flags"] | 0x2}  # + the kernel's HASHED
    assert spec_from_attrs(sent) == spec


def test_persistence_engine_sent_only_when_set_and_read_back() -> None:
    sip = ServiceSpec(ServiceKey.ip("UDP", "192.0.2.1", 5060), "rr", True, 60, 32, 0, "sip")
    sent = attrs(to_service(sip))
    assert sent["IPVS_SVC_ATTR_PE_NAME"] == "sip" and spec_from_attrs(sent) == sip
    plain = attrs(to_service(ServiceSpec(ServiceKey.ip("UDP", "192.0.2.1", 5060), "rr", True, 60)))
    assert "IPVS_SVC_ATTR_PE_NAME" not in plain  # absent: a set drops the kernel's engine
