"""VRRP advertisement codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798, RFC 9568).

Pure: no sockets, no asyncio.  ``encode`` and ``decode`` are symmetric:
``encode(decode(p, src, dst, ttl), src, dst) == p`` for every packet that
decodes (the checksum form that verified is remembered in the result), save
two things the wire lets differ without changing the meaning: v3 reserved
bits set by a sender (ignored on receipt, sent as zero) and a checksum field
of 0xFFFF where 0x0000 is computed (both are one's complement zero).

VRRPv2, IPv4 only (RFC 3768 5.1)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |   Auth Type   |   Adver Int   |          Checksum             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                         IP Address (1)                        |
    |                              ...                              |
    |                         IP Address (n)                        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                     Authentication Data (1)                   |
    |                     Authentication Data (2)                   |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

VRRPv3, IPv4 or IPv6 (RFC 5798 5.1, RFC 9568 5.1)::

    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |(rsvd) |     Max Adver Int     |          Checksum             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                       IPvX Address(es)                        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Advertisement interval: v2 whole seconds (8 bits), v3 centiseconds (12 bits).

Checksums (see ``checksum.py``): v2 covers the VRRP message; v3 IPv6 adds
the IPv6 pseudo-header; v3 IPv4 adds the IPv4 pseudo-header (keepalived's
default and RFC 9568 5.2.8).  For v3 IPv4 the decoder also accepts the two
variants seen in the field: no pseudo-header (some older implementations)
and keepalived < 1.3.6 unicast, whose pseudo-header names 224.0.0.18 as
destination (its ``old_unicast_checksum``).

Every malformed input raises ``VrrpDecodeError`` with a ``DropReason``; the
same enum keys the per-instance drop counters, so a decode failure and a
semantic drop in the state machine are counted alike.
"""
from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Union

from ..compat import SLOTS, StrEnum
from ..net.checksum import (
    IPPROTO_VRRP,
    internet_checksum,
    ipv4_pseudo_header,
    ipv6_pseudo_header,
)

IPAddress = Union[IPv4Address, IPv6Address]

VRRP_TTL = 255  # RFC 3768 5.2.3 / RFC 5798 5.1.1.3: sent and required on receipt
MCAST_IPV4 = IPv4Address("224.0.0.18")  # RFC 5798 5.1.1.2
MCAST_IPV6 = IPv6Address("ff02::12")  # RFC 5798 5.1.2.2
TYPE_ADVERTISEMENT = 1  # RFC 5798 5.2.2: the only type defined
HEADER_LEN = 8
AUTH_DATA_LEN = 8  # RFC 3768 5.3.10 (v2 only)
V3_MAX_INTERVAL = 0x0FFF  # 12 bits of centiseconds


class AuthType(enum.IntEnum):
    """VRRPv2 Auth Type (RFC 3768 5.3.6; type 2 is RFC 2338's IP AH)."""

    NONE = 0
    SIMPLE = 1  # keepalived's "PASS": 8 bytes of clear text
    AH = 2  # refused: decoding it raises DropReason.AUTH


class DropReason(StrEnum):
    """Why a received packet was dropped; the daemon counts drops per reason."""

    LENGTH = "length"  # too short, or length disagrees with the address count
    VERSION = "version"  # not 2/3, v2 over IPv6, or not this instance's version
    TYPE = "type"  # not an ADVERTISEMENT
    TTL = "ttl"  # TTL / hop limit is not 255 (multicast), or outside a unicast_peer's min_ttl..max_ttl
    CHECKSUM = "checksum"
    VRID = "vrid"  # VRID 0, or not this instance's VRID
    AUTH = "auth"  # unknown or refused (AH) auth type, or wrong password
    INTERVAL = "interval"  # interval 0, or a v2 interval unlike ours (RFC 3768 7.1)
    ADDRESS_COUNT = "address_count"  # count differs from our VIP count
    ADDRESS_LIST = "address_list"  # a configured VIP is missing from the advert
    PROTOCOL = "protocol"  # IPv4 header: not IPv4, not protocol 112, fragmented
    OWN = "own"  # our own advert looped back
    PEER = "peer"  # unicast mode: the source is not a configured unicast_peer
    DESTINATION = "destination"  # multicast mode: not sent to the group (e.g. to our own address)


class ChecksumForm(enum.Enum):
    """Which checksum computation verified (decode) or is used (encode)."""

    RFC = "rfc"  # v2: message only; v3: with the pseudo-header of the real dst
    NO_PSEUDO_HEADER = "no_pseudo_header"  # v3 IPv4 without pseudo-header
    MULTICAST_PSEUDO_HEADER = "multicast_pseudo_header"  # keepalived < 1.3.6 unicast


class VrrpDecodeError(ValueError):
    """The one exception the decoders raise for malformed input."""

    def __init__(self, reason: DropReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, **SLOTS)
class Advertisement:
    """One VRRP ADVERTISEMENT, in wire units.

    ``advert_interval`` is the raw field: seconds for v2, centiseconds for v3
    (``interval_seconds`` converts).  ``count`` is ``len(addresses)``.
    ``auth_type``/``auth_data`` exist on the wire for v2 only; ``auth_data``
    keeps the 8 received bytes and is NUL-padded to 8 on encode.
    ``checksum`` is the received value (ignored by ``encode``, which computes
    it using ``checksum_form``).
    """

    version: int
    vrid: int
    priority: int
    advert_interval: int
    addresses: tuple[IPAddress, ...] = ()
    type: int = TYPE_ADVERTISEMENT
    auth_type: AuthType = AuthType.NONE
    auth_data: bytes = b""
    checksum: int = 0
    checksum_form: ChecksumForm = ChecksumForm.RFC

    @property
    def count(self) -> int:
        return len(self.addresses)

    @property
    def interval_seconds(self) -> float:
        return float(self.advert_interval) if self.version == 2 else self.advert_interval / 100


def _fail(reason: DropReason, detail: str) -> VrrpDecodeError:
    return VrrpDecodeError(reason, detail)


def _vrrp_checksum(message: bytes, version: int, src: IPAddress, dst: IPAddress,
                   form: ChecksumForm) -> int:
    """Checksum of ``message`` (checksum field zeroed, or as received to verify)."""
    if version == 2 or form is ChecksumForm.NO_PSEUDO_HEADER:
        return internet_checksum(message)
    if isinstance(src, IPv6Address):
        assert isinstance(dst, IPv6Address)
        return internet_checksum(ipv6_pseudo_header(src, dst, len(message)) + message)
    assert isinstance(dst, IPv4Address)
    if form is ChecksumForm.MULTICAST_PSEUDO_HEADER:
        dst = MCAST_IPV4
    return internet_checksum(ipv4_pseudo_header(src, dst, len(message)) + message)


def _check_family(src: IPAddress, dst: IPAddress) -> type[IPv4Address] | type[IPv6Address]:
    if type(src) is not type(dst) or not isinstance(src, (IPv4Address, IPv6Address)):
        raise TypeError(f"src and dst must be both IPv4Address or both IPv6Address: {src!r}, {dst!r}")
    return type(src)


def encode(advert: Advertisement, src: IPAddress, dst: IPAddress) -> bytes:
    """Return the VRRP message (IP payload) for ``advert`` sent from ``src`` to ``dst``.

    The checksum is computed (RFC 3768 5.3.8 / RFC 5798 5.2.8) with
    ``advert.checksum_form``.  Raises ``ValueError`` for values that do not
    fit the wire format.
    """
    family = _check_family(src, dst)
    version = advert.version
    if version not in (2, 3):
        raise ValueError(f"VRRP version must be 2 or 3, not {version}")
    if version == 2 and family is IPv6Address:
        raise ValueError("VRRPv2 is IPv4 only (RFC 3768); use version 3 for IPv6")
    if not 1 <= advert.vrid <= 255 or not 0 <= advert.priority <= 255:
        raise ValueError(f"vrid {advert.vrid} / priority {advert.priority} out of range")
    if not 0 <= advert.type <= 15:
        raise ValueError(f"type {advert.type} does not fit 4 bits")
    limit = 255 if version == 2 else V3_MAX_INTERVAL
    if not 1 <= advert.advert_interval <= limit:
        raise ValueError(f"advert_interval {advert.advert_interval} not in 1..{limit}")
    if advert.count > 255:
        raise ValueError("at most 255 addresses fit the count field")
    if any(type(a) is not family for a in advert.addresses):
        raise ValueError("addresses must have the family of src/dst")
    if version == 2:
        if len(advert.auth_data) > AUTH_DATA_LEN:
            raise ValueError("v2 authentication data is at most 8 bytes")
        second = struct.pack("!BBH", advert.auth_type, advert.advert_interval, 0)
        trailer = advert.auth_data.ljust(AUTH_DATA_LEN, b"\0")
    else:
        second = struct.pack("!HH", advert.advert_interval, 0)  # reserved bits zero
        trailer = b""
    first = struct.pack("!BBBB", version << 4 | advert.type, advert.vrid, advert.priority,
                        advert.count)
    body = b"".join(a.packed for a in advert.addresses) + trailer
    message = first + second + body
    csum = _vrrp_checksum(message, version, src, dst, advert.checksum_form)
    return message[:6] + struct.pack("!H", csum) + message[8:]


def decode(payload: bytes, src: IPAddress, dst: IPAddress, ttl: int | None) -> Advertisement:
    """Decode one VRRP message (the IP payload) received from ``src`` to ``dst``.

    ``ttl`` is the IPv4 TTL or IPv6 hop limit; it must be 255 (RFC 5798 7.1)
    unless ``None`` is passed, which skips that check (unicast peers, as
    keepalived does, or a hop limit the socket did not report).

    Checks, in RFC 5798 7.1 order where it has one: length, version, type,
    TTL, length against the address count, checksum, v2 auth type, VRID,
    interval.  Raises ``VrrpDecodeError`` (and nothing else) on bad input.
    """
    family = _check_family(src, dst)
    size = len(payload)
    if size < HEADER_LEN:
        raise _fail(DropReason.LENGTH, f"{size} bytes, need at least {HEADER_LEN}")
    vt, vrid, priority, count = payload[0], payload[1], payload[2], payload[3]
    version, ptype = vt >> 4, vt & 0x0F
    if version not in (2, 3):
        raise _fail(DropReason.VERSION, f"version {version}")
    if version == 2 and family is IPv6Address:
        raise _fail(DropReason.VERSION, "VRRPv2 over IPv6 is not supported")
    if ptype != TYPE_ADVERTISEMENT:
        raise _fail(DropReason.TYPE, f"type {ptype}")
    if ttl is not None and ttl != VRRP_TTL:
        raise _fail(DropReason.TTL, f"TTL/hop limit {ttl}, must be {VRRP_TTL}")
    alen = 4 if family is IPv4Address else 16
    expected = HEADER_LEN + count * alen + (AUTH_DATA_LEN if version == 2 else 0)
    if size != expected:
        raise _fail(DropReason.LENGTH, f"{size} bytes, {count} addresses need {expected}")
    form = _verify_checksum(payload, version, src, dst)
    if version == 2:
        auth_type, interval = payload[4], payload[5]
        if auth_type == AuthType.AH:
            raise _fail(DropReason.AUTH, "IPsec AH authentication is not supported")
        if auth_type not in (AuthType.NONE, AuthType.SIMPLE):
            raise _fail(DropReason.AUTH, f"unknown auth type {auth_type}")
        auth = AuthType(auth_type)
        auth_data = payload[size - AUTH_DATA_LEN:]
    else:
        # RFC 5798 5.2.7: the 4 reserved bits are ignored on receipt
        interval = struct.unpack_from("!H", payload, 4)[0] & V3_MAX_INTERVAL
        auth, auth_data = AuthType.NONE, b""
    if vrid == 0:
        raise _fail(DropReason.VRID, "VRID 0 is invalid (RFC 5798 5.2.3)")
    if interval == 0:
        raise _fail(DropReason.INTERVAL, "advertisement interval 0")
    addresses = tuple(family(payload[off:off + alen])
                      for off in range(HEADER_LEN, HEADER_LEN + count * alen, alen))
    return Advertisement(
        version=version, vrid=vrid, priority=priority, advert_interval=interval,
        addresses=addresses, type=ptype, auth_type=auth, auth_data=auth_data,
        checksum=struct.unpack_from("!H", payload, 6)[0], checksum_form=form)


def _verify_checksum(payload: bytes, version: int, src: IPAddress, dst: IPAddress) -> ChecksumForm:
    """Return the checksum form that verifies, or raise CHECKSUM."""
    forms = [ChecksumForm.RFC]
    if version == 3 and isinstance(src, IPv4Address):
        if dst != MCAST_IPV4:
            forms.append(ChecksumForm.MULTICAST_PSEUDO_HEADER)
        forms.append(ChecksumForm.NO_PSEUDO_HEADER)
    for form in forms:
        if _vrrp_checksum(payload, version, src, dst, form) == 0:
            return form
    raise _fail(DropReason.CHECKSUM, f"bad checksum 0x{payload[6]:02x}{payload[7]:02x}")


__all__ = [
    "IPPROTO_VRRP", "MCAST_IPV4", "MCAST_IPV6", "VRRP_TTL", "Advertisement", "AuthType",
    "ChecksumForm", "DropReason", "IPAddress", "VrrpDecodeError", "decode", "encode",
]
