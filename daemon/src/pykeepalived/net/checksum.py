"""Internet checksum and the pseudo-headers VRRP checksums cover.

Pure functions, no I/O.  References:

* RFC 1071: the 16-bit one's complement sum ("Internet checksum").
* RFC 3768 5.3.8: VRRPv2 checksums the VRRP message only.
* RFC 5798 5.2.8 / RFC 9568 5.2.8: VRRPv3 checksums a pseudo-header plus the
  VRRP message; for IPv4 the pseudo-header is the one of RFC 768 (UDP), for
  IPv6 the one of RFC 8200 8.1.
"""
from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

IPPROTO_VRRP = 112


def ones_complement_sum(data: bytes, initial: int = 0) -> int:
    """Return the folded 16-bit one's complement sum of ``data`` (RFC 1071 4.1)."""
    if len(data) % 2:
        data += b"\0"  # an odd trailing byte is padded on the right
    total = initial + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def internet_checksum(data: bytes, initial: int = 0) -> int:
    """Return the Internet checksum of ``data``; 0 means a received message verifies."""
    return ~ones_complement_sum(data, initial) & 0xFFFF


def ipv4_pseudo_header(src: IPv4Address, dst: IPv4Address, length: int,
                       protocol: int = IPPROTO_VRRP) -> bytes:
    """RFC 768 pseudo-header: src(4) dst(4) zero(1) protocol(1) length(2)."""
    return src.packed + dst.packed + struct.pack("!BBH", 0, protocol, length)


def ipv6_pseudo_header(src: IPv6Address, dst: IPv6Address, length: int,
                       next_header: int = IPPROTO_VRRP) -> bytes:
    """RFC 8200 8.1 pseudo-header: src(16) dst(16) length(4) zero(3) next header(1)."""
    return src.packed + dst.packed + struct.pack("!I3xB", length, next_header)
