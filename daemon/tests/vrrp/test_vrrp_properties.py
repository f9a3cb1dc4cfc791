"""Property tests (hypothesis): encode/decode round trip for any valid advertisement."""
from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pykeepalived.net.checksum import internet_checksum
from pykeepalived.vrrp.ippacket import decode_ipv4_packet, encode_ipv4_packet, with_ident
from pykeepalived.vrrp.packet import Advertisement, AuthType, ChecksumForm, decode, encode

ipv4 = st.builds(IPv4Address, st.integers(0, 2**32 - 1))
ipv6 = st.builds(IPv6Address, st.integers(0, 2**128 - 1))


@st.composite
def adverts(draw: st.DrawFn) -> tuple[Advertisement, object, object]:
    version = draw(st.sampled_from([2, 3]))
    v6 = version == 3 and draw(st.booleans())
    addr = ipv6 if v6 else ipv4
    src, dst = draw(addr), draw(addr)
    common = {
        "vrid": draw(st.integers(1, 255)),
        "priority": draw(st.integers(0, 255)),
        "addresses": tuple(draw(st.lists(addr, max_size=12))),
    }
    if version == 2:
        auth = draw(st.sampled_from([AuthType.NONE, AuthType.SIMPLE]))
        adv = Advertisement(2, advert_interval=draw(st.integers(1, 255)), auth_type=auth,
                            auth_data=draw(st.binary(max_size=8)), **common)
    else:
        forms = [ChecksumForm.RFC] if v6 else list(ChecksumForm)
        adv = Advertisement(3, advert_interval=draw(st.integers(1, 0x0FFF)),
                            checksum_form=draw(st.sampled_from(forms)), **common)
    return adv, src, dst


@settings(max_examples=400, deadline=None)
@given(adverts())
def test_encode_decode_round_trip(case: tuple[Advertisement, object, object]) -> None:
    adv, src, dst = case
    wire = encode(adv, src, dst)
    back = decode(wire, src, dst, 255)
    expected = replace(adv, checksum=back.checksum, checksum_form=back.checksum_form,
                       auth_data=adv.auth_data.ljust(8, b"\0") if adv.version == 2 else b"")
    assert back == expected
    assert back.count == len(adv.addresses)
    assert encode(back, src, dst) == wire  # symmetric, checksum included


@settings(max_examples=200, deadline=None)
@given(adverts(), st.integers(0, 0xFFFF), st.integers(1, 255))
def test_ipv4_datagram_round_trip(case, ident: int, ttl: int) -> None:
    adv, src, dst = case
    if not isinstance(src, IPv4Address):
        return
    packet = encode_ipv4_packet(adv, src, dst, ttl=ttl, ident=ident)
    got = decode_ipv4_packet(packet, check_ttl=False)
    assert (got.src, got.dst, got.ttl) == (src, dst, ttl)
    assert encode_ipv4_packet(got.advert, src, dst, ttl=ttl, ident=ident) == packet


@settings(max_examples=200, deadline=None)
@given(adverts(), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_with_ident_equals_encoding_with_that_ident(case, first: int, ident: int) -> None:
    """A packet encoded ahead of time and re-stamped (RFC 1624 checksum update) is the
    packet encoded with that IP id, header checksum included."""
    adv, src, dst = case
    assume(isinstance(src, IPv4Address))
    ahead = encode_ipv4_packet(adv, src, dst, ident=first)
    assert with_ident(ahead, ident) == encode_ipv4_packet(adv, src, dst, ident=ident)
    assert internet_checksum(with_ident(ahead, ident)[:20]) == 0
