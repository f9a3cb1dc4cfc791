"""VRRP inside full IP packets, for raw sockets.  Pure: no sockets here.

A raw IPv4 socket (``socket(AF_INET, SOCK_RAW, 112)``) returns the IPv4
header with each datagram, and keepalived sends with ``IP_HDRINCL``; the
TTL, source and destination come from that header.  A raw IPv6 socket
returns only the payload: the source comes from ``recvmsg``'s address, the
destination from ``IPV6_PKTINFO`` and the hop limit from ``IPV6_HOPLIMIT``
ancillary data, so IPv6 has ``decode_ipv6`` taking those four values.

IPv4 header (RFC 791 3.1)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |Version|  IHL  |Type of Service|          Total Length         |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |         Identification        |Flags|      Fragment Offset    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Time to Live |    Protocol   |         Header Checksum       |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                       Source Address                          |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                    Destination Address                        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                    Options                    |    Padding    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from ..compat import SLOTS
from ..net.checksum import IPPROTO_VRRP, internet_checksum
from .packet import (
    VRRP_TTL,
    Advertisement,
    DropReason,
    IPAddress,
    VrrpDecodeError,
    decode,
    encode,
)

IPPROTO_AH = 51  # RFC 2338 / keepalived "auth_type AH": refused
IPV4_HEADER_LEN = 20
TOS_INTERNETWORK_CONTROL = 0xC0  # what keepalived puts in the TOS byte


@dataclass(frozen=True, **SLOTS)
class ReceivedAdvert:
    """A decoded advertisement with the IP-level facts the state machine needs."""

    advert: Advertisement
    src: IPAddress
    dst: IPAddress
    ttl: int | None


def decode_ipv4_packet(packet: bytes, *, check_ttl: bool = True) -> ReceivedAdvert:
    """Decode a full IPv4 datagram carrying VRRP (protocol 112).

    ``check_ttl=False`` skips the TTL 255 rule, as keepalived does for
    unicast peers.  IPsec AH (protocol 51) raises ``DropReason.AUTH``;
    any other protocol, a non-IPv4 header or a fragment raises
    ``DropReason.PROTOCOL``; sizes that do not add up raise ``LENGTH``.
    """
    size = len(packet)
    if size < IPV4_HEADER_LEN:
        raise VrrpDecodeError(DropReason.LENGTH, f"{size} bytes, no room for an IPv4 header")
    if packet[0] >> 4 != 4:
        raise VrrpDecodeError(DropReason.PROTOCOL, f"IP version {packet[0] >> 4}, expected 4")
    ihl = (packet[0] & 0x0F) * 4
    total, frag = struct.unpack_from("!H2xH", packet, 2)
    if ihl < IPV4_HEADER_LEN or ihl > size or not ihl <= total <= size:
        raise VrrpDecodeError(DropReason.LENGTH,
                              f"header {ihl} / total {total} do not fit {size} bytes")
    if frag & 0x3FFF:  # MF flag or a fragment offset: VRRP is never fragmented
        raise VrrpDecodeError(DropReason.PROTOCOL, "fragmented datagram")
    ttl, proto = packet[8], packet[9]
    if proto == IPPROTO_AH:
        raise VrrpDecodeError(DropReason.AUTH, "IPsec AH authentication is not supported")
    if proto != IPPROTO_VRRP:
        raise VrrpDecodeError(DropReason.PROTOCOL, f"IP protocol {proto}, expected {IPPROTO_VRRP}")
    src, dst = IPv4Address(packet[12:16]), IPv4Address(packet[16:20])
    advert = decode(packet[ihl:total], src, dst, ttl if check_ttl else None)
    return ReceivedAdvert(advert, src, dst, ttl)


def decode_ipv6(payload: bytes, src: IPv6Address, dst: IPv6Address, hop_limit: int | None,
                *, check_ttl: bool = True) -> ReceivedAdvert:
    """Decode the payload of a raw IPv6 socket, with its ancillary facts."""
    advert = decode(payload, src, dst, hop_limit if check_ttl else None)
    return ReceivedAdvert(advert, src, dst, hop_limit)


def encode_ipv4_packet(advert: Advertisement, src: IPv4Address, dst: IPv4Address, *,
                       ttl: int = VRRP_TTL, ident: int = 0,
                       tos: int = TOS_INTERNETWORK_CONTROL) -> bytes:
    """Return a full IPv4 datagram for an ``IP_HDRINCL`` raw socket.

    The header checksum is filled in (Linux would fill it anyway, and it
    makes the result comparable byte for byte with a capture).
    """
    payload = encode(advert, src, dst)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, tos, IPV4_HEADER_LEN + len(payload), ident,
                         0, ttl, IPPROTO_VRRP, 0, src.packed, dst.packed)
    csum = internet_checksum(header)
    return header[:10] + struct.pack("!H", csum) + header[12:] + payload


def with_ident(packet: bytes, ident: int) -> bytes:
    """``packet`` (from ``encode_ipv4_packet``) with IP identification ``ident``.

    The header checksum is updated incrementally (RFC 1624 3, eqn. 3:
    HC' = ~(~HC + ~m + m')), so a packet encoded ahead of time goes out
    with the socket's next id and no new encoding.
    """
    old_ident, old_sum = struct.unpack_from("!H4xH", packet, 4)
    s = (~old_sum & 0xFFFF) + (~old_ident & 0xFFFF) + ident
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return packet[:4] + struct.pack("!H", ident) + packet[6:10] + struct.pack("!H", ~s & 0xFFFF) + packet[12:]


__all__ = ["IPPROTO_AH", "ReceivedAdvert", "decode_ipv4_packet", "decode_ipv6",
           "encode_ipv4_packet", "with_ident"]
