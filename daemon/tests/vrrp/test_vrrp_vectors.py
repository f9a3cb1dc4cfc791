"""Golden vectors from keepalived 2.2.7: decode to the configured fields, re-encode byte-identically."""
from __future__ import annotations

from ipaddress import ip_address

import pytest
from vrrp_vectors import BAD, GOOD, VECTORS, Vector

from pykeepalived.vrrp.ippacket import decode_ipv4_packet, decode_ipv6, encode_ipv4_packet
from pykeepalived.vrrp.packet import (
    AuthType,
    ChecksumForm,
    DropReason,
    VrrpDecodeError,
    decode,
    encode,
)


def ids(vectors: list[Vector]) -> list[str]:
    return [v.name for v in vectors]


def ttl_for(v: Vector) -> int | None:
    # keepalived checks the TTL for multicast only; its IPv6 unicast hop limit is 64
    return None if v.unicast else v.ttl


def test_vector_set_is_complete() -> None:
    names = {v.name for v in VECTORS}
    for base in ("v2_pass", "v2_none", "v2_ah", "v3_ipv4", "v3_ipv4_owner", "v3_ipv6",
                 "v2_unicast", "v3_ipv4_unicast", "v3_ipv6_unicast"):
        assert {base, f"{base}_shutdown"} <= names


@pytest.mark.parametrize("v", GOOD, ids=ids(GOOD))
def test_decode_matches_keepalived_config(v: Vector) -> None:
    assert v.expect is not None
    adv = decode(v.payload, v.src, v.dst, ttl_for(v))
    e = v.expect
    assert adv.version == e["version"]
    assert adv.type == e["type"]
    assert adv.vrid == e["vrid"]
    assert adv.priority == e["priority"]
    assert adv.count == e["count"]
    assert adv.auth_type == AuthType(e["auth_type"])
    assert adv.auth_data == bytes.fromhex(e["auth_data"])
    assert adv.advert_interval == e["advert_interval"]
    assert adv.addresses == tuple(ip_address(a) for a in e["addresses"])
    assert adv.checksum == e["checksum"]
    assert adv.checksum_form is ChecksumForm.RFC  # keepalived 2.2.7 uses the RFC form


@pytest.mark.parametrize("v", GOOD, ids=ids(GOOD))
def test_reencode_is_byte_identical(v: Vector) -> None:
    adv = decode(v.payload, v.src, v.dst, ttl_for(v))
    assert encode(adv, v.src, v.dst) == v.payload


@pytest.mark.parametrize("v", [v for v in GOOD if v.ip_packet], ids=ids([v for v in GOOD if v.ip_packet]))
def test_full_ipv4_packet_round_trip(v: Vector) -> None:
    assert v.ip_packet is not None
    got = decode_ipv4_packet(v.ip_packet, check_ttl=not v.unicast)
    assert (got.src, got.dst, got.ttl) == (v.src, v.dst, v.ttl)
    assert got.advert == decode(v.payload, v.src, v.dst, ttl_for(v))
    ident = int.from_bytes(v.ip_packet[4:6], "big")
    again = encode_ipv4_packet(got.advert, got.src, got.dst, ttl=got.ttl or 255, ident=ident)
    assert again == v.ip_packet


@pytest.mark.parametrize("v", [v for v in GOOD if v.family == "ipv6"],
                         ids=ids([v for v in GOOD if v.family == "ipv6"]))
def test_ipv6_payload_api(v: Vector) -> None:
    got = decode_ipv6(v.payload, v.src, v.dst, v.ttl, check_ttl=not v.unicast)
    assert got.advert.vrid == v.expect["vrid"]  # type: ignore[index]


@pytest.mark.parametrize("v", BAD, ids=ids(BAD))
def test_ah_is_refused(v: Vector) -> None:
    assert v.ip_packet is not None and v.ip_protocol == 51
    with pytest.raises(VrrpDecodeError) as err:
        decode_ipv4_packet(v.ip_packet)
    assert err.value.reason is DropReason(v.expect_error)
    # the VRRP header behind the 24-byte AH header says auth type 2: refused too
    with pytest.raises(VrrpDecodeError) as err:
        decode(v.payload[24:], v.src, v.dst, v.ttl)
    assert err.value.reason is DropReason.AUTH


def test_ipv6_unicast_hop_limit_is_not_255() -> None:
    # why decode takes ttl=None for unicast: keepalived sends IPv6 unicast with hop limit 64
    v = next(v for v in GOOD if v.name == "v3_ipv6_unicast")
    assert v.ttl == 64
    with pytest.raises(VrrpDecodeError) as err:
        decode(v.payload, v.src, v.dst, v.ttl)
    assert err.value.reason is DropReason.TTL


def test_v3_ipv4_unicast_checksum_uses_the_unicast_destination() -> None:
    v = next(v for v in GOOD if v.name == "v3_ipv4_unicast")
    adv = decode(v.payload, v.src, v.dst, None)
    assert adv.checksum_form is ChecksumForm.RFC
    # the same bytes seen as sent to the multicast group do not verify
    with pytest.raises(VrrpDecodeError) as err:
        decode(v.payload, v.src, ip_address("224.0.0.18"), None)
    assert err.value.reason is DropReason.CHECKSUM
