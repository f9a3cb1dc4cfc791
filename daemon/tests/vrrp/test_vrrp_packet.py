"""Codec unit tests: hand-built byte vectors, every drop reason, checksum forms."""
from __future__ import annotations

import struct
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

import pytest

from pykeepalived.net.checksum import internet_checksum, ipv4_pseudo_header
from pykeepalived.vrrp.ippacket import decode_ipv4_packet, encode_ipv4_packet
from pykeepalived.vrrp.packet import (
    MCAST_IPV4,
    MCAST_IPV6,
    Advertisement,
    AuthType,
    ChecksumForm,
    DropReason,
    VrrpDecodeError,
    decode,
    encode,
)

SRC4, PEER4 = IPv4Address("192.0.2.1"), IPv4Address("192.0.2.2")
SRC6 = IPv6Address("fe80::1")
VIP4 = (IPv4Address("192.0.2.100"), IPv4Address("192.0.2.101"))

# VRRPv2, vrid 51, prio 100, 1 address, auth none, 1 s: the RFC 3768 layout by hand
V2_HAND = bytes.fromhex("21 33 64 01 00 01 0000 c0000264 0000000000000000".replace(" ", ""))


def v2_with_checksum(raw: bytes) -> bytes:
    return raw[:6] + struct.pack("!H", internet_checksum(raw)) + raw[8:]


def reason(payload: bytes, src=SRC4, dst=MCAST_IPV4, ttl: int | None = 255) -> DropReason:
    with pytest.raises(VrrpDecodeError) as err:
        decode(payload, src, dst, ttl)
    return err.value.reason


def test_hand_built_v2() -> None:
    raw = v2_with_checksum(V2_HAND)
    adv = decode(raw, SRC4, MCAST_IPV4, 255)
    assert (adv.version, adv.vrid, adv.priority, adv.count, adv.advert_interval) == (2, 51, 100, 1, 1)
    assert adv.addresses == (IPv4Address("192.0.2.100"),)
    assert adv.auth_type is AuthType.NONE and adv.auth_data == bytes(8)
    assert encode(adv, SRC4, MCAST_IPV4) == raw


def test_v2_simple_password_is_nul_padded() -> None:
    adv = Advertisement(2, 7, 200, 3, VIP4, auth_type=AuthType.SIMPLE, auth_data=b"pw")
    raw = encode(adv, SRC4, MCAST_IPV4)
    assert raw[-8:] == b"pw\0\0\0\0\0\0"
    back = decode(raw, SRC4, MCAST_IPV4, 255)
    assert back.auth_data == b"pw\0\0\0\0\0\0" and back.interval_seconds == 3.0


def test_v3_ipv4_checksum_includes_pseudo_header() -> None:
    adv = Advertisement(3, 20, 200, 150, VIP4)
    raw = encode(adv, SRC4, MCAST_IPV4)
    assert raw[4:6] == b"\x00\x96"  # 150 centiseconds, reserved bits zero
    pseudo = ipv4_pseudo_header(SRC4, MCAST_IPV4, len(raw))
    assert internet_checksum(pseudo + raw) == 0
    assert internet_checksum(raw) != 0
    assert decode(raw, SRC4, MCAST_IPV4, 255).interval_seconds == 1.5


@pytest.mark.parametrize("form", list(ChecksumForm))
def test_v3_ipv4_accepts_every_checksum_form(form: ChecksumForm) -> None:
    adv = Advertisement(3, 41, 130, 100, VIP4, checksum_form=form)
    raw = encode(adv, SRC4, PEER4)  # unicast, so the multicast form differs
    back = decode(raw, SRC4, PEER4, None)
    assert back.checksum_form is form
    assert encode(back, SRC4, PEER4) == raw


def test_v3_ipv6_checksum_form_alternatives_are_refused() -> None:
    adv = Advertisement(3, 30, 100, 100, (IPv6Address("2001:db8::30"),),
                        checksum_form=ChecksumForm.NO_PSEUDO_HEADER)
    raw = encode(adv, SRC6, MCAST_IPV6)
    assert reason(raw, SRC6, MCAST_IPV6) is DropReason.CHECKSUM


def test_v3_reserved_bits_ignored_on_receipt() -> None:
    raw = bytearray(encode(Advertisement(3, 9, 100, 100, VIP4, checksum_form=ChecksumForm.NO_PSEUDO_HEADER),
                           SRC4, MCAST_IPV4))
    raw[4] |= 0xF0
    raw[6:8] = b"\0\0"
    raw[6:8] = struct.pack("!H", internet_checksum(bytes(raw)))
    adv = decode(bytes(raw), SRC4, MCAST_IPV4, 255)
    assert adv.advert_interval == 100


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda b: b[:7], DropReason.LENGTH),
    (lambda b: b[:-1], DropReason.LENGTH),
    (lambda b: b + b"\0\0\0\0", DropReason.LENGTH),
    (lambda b: bytes([0x11]) + b[1:], DropReason.VERSION),
    (lambda b: bytes([0x41]) + b[1:], DropReason.VERSION),
    (lambda b: bytes([0x22]) + b[1:], DropReason.TYPE),
    (lambda b: b[:6] + bytes([b[6] ^ 1]) + b[7:], DropReason.CHECKSUM),
    (lambda b: v2_with_checksum(b[:4] + b"\x02" + b[5:6] + b"\0\0" + b[8:]), DropReason.AUTH),
    (lambda b: v2_with_checksum(b[:4] + b"\x07" + b[5:6] + b"\0\0" + b[8:]), DropReason.AUTH),
    (lambda b: v2_with_checksum(b[:1] + b"\x00" + b[2:6] + b"\0\0" + b[8:]), DropReason.VRID),
    (lambda b: v2_with_checksum(b[:5] + b"\x00" + b"\0\0" + b[8:]), DropReason.INTERVAL),
])
def test_each_malformation_has_its_reason(mutate, expected: DropReason) -> None:
    assert reason(mutate(v2_with_checksum(V2_HAND))) is expected


def test_ttl_checked_unless_none() -> None:
    raw = v2_with_checksum(V2_HAND)
    assert reason(raw, ttl=254) is DropReason.TTL
    assert decode(raw, SRC4, PEER4, None).vrid == 51


def test_v2_over_ipv6_is_a_version_error() -> None:
    assert reason(v2_with_checksum(V2_HAND), SRC6, MCAST_IPV6) is DropReason.VERSION


def test_encode_rejects_what_the_wire_cannot_carry() -> None:
    good = Advertisement(2, 1, 100, 1, VIP4)
    for bad in (replace(good, version=4), replace(good, vrid=0), replace(good, priority=256),
                replace(good, advert_interval=256), replace(good, advert_interval=0),
                replace(good, auth_data=b"123456789"),
                replace(good, version=3, advert_interval=4096),
                replace(good, addresses=(IPv6Address("2001:db8::1"),))):
        with pytest.raises(ValueError):
            encode(bad, SRC4, MCAST_IPV4)
    with pytest.raises(ValueError):
        encode(replace(good, addresses=()), SRC6, MCAST_IPV6)  # v2 over IPv6
    with pytest.raises(TypeError):
        encode(good, SRC4, MCAST_IPV6)  # mixed families are a caller bug


def test_error_is_a_value_error_with_reason_in_message() -> None:
    err = VrrpDecodeError(DropReason.TTL, "TTL 1")
    assert isinstance(err, ValueError) and str(err) == "ttl: TTL 1"


def ipv4(payload: bytes, proto: int = 112, ttl: int = 255, frag: int = 0) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 1, frag, ttl, proto, 0,
                      SRC4.packed, MCAST_IPV4.packed)
    return hdr + payload


def test_ipv4_packet_reasons() -> None:
    raw = v2_with_checksum(V2_HAND)
    assert decode_ipv4_packet(ipv4(raw)).advert.vrid == 51
    assert decode_ipv4_packet(ipv4(raw) + b"\0" * 6).ttl == 255  # trailing padding is ignored
    cases = {
        DropReason.LENGTH: [ipv4(raw)[:19], ipv4(raw)[:30], b"\x46" + ipv4(raw)[1:20]],
        DropReason.PROTOCOL: [b"\x65" + ipv4(raw)[1:], ipv4(raw, proto=17),
                              ipv4(raw, frag=0x2000), ipv4(raw, frag=0x0001)],
        DropReason.AUTH: [ipv4(raw, proto=51)],
        DropReason.TTL: [ipv4(raw, ttl=1)],
    }
    for expected, packets in cases.items():
        for pkt in packets:
            with pytest.raises(VrrpDecodeError) as err:
                decode_ipv4_packet(pkt)
            assert err.value.reason is expected, pkt.hex()
    assert decode_ipv4_packet(ipv4(raw, ttl=1), check_ttl=False).ttl == 1


def test_encode_ipv4_packet_header() -> None:
    pkt = encode_ipv4_packet(Advertisement(3, 5, 100, 100, VIP4), SRC4, MCAST_IPV4, ident=7)
    assert pkt[0] == 0x45 and pkt[1] == 0xC0 and pkt[8] == 255 and pkt[9] == 112
    assert internet_checksum(pkt[:20]) == 0
    assert decode_ipv4_packet(pkt).advert.vrid == 5
