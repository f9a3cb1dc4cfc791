"""VRRP for pykeepalived: a pure codec and a sans-I/O state machine.

* ``packet``: VRRPv2 (RFC 3768) / VRRPv3 (RFC 5798, RFC 9568) advertisements,
  ``encode``/``decode`` and the typed ``VrrpDecodeError``.
* ``ippacket``: the same inside full IPv4 datagrams (raw sockets), and the
  IPv6 payload-plus-ancillary-data form.
* ``checksum``: the Internet checksum and pseudo-headers.

Nothing in this package opens a socket, sleeps or imports asyncio.
"""
from .ippacket import ReceivedAdvert, decode_ipv4_packet, decode_ipv6, encode_ipv4_packet
from .packet import (
    MCAST_IPV4,
    MCAST_IPV6,
    VRRP_TTL,
    Advertisement,
    AuthType,
    ChecksumForm,
    DropReason,
    VrrpDecodeError,
    decode,
    encode,
)

__all__ = [
    "MCAST_IPV4", "MCAST_IPV6", "VRRP_TTL", "Advertisement", "AuthType", "ChecksumForm",
    "DropReason", "ReceivedAdvert", "VrrpDecodeError", "decode", "decode_ipv4_packet",
    "decode_ipv6", "encode", "encode_ipv4_packet",
]
