"""VRRP for pykeepalived: a pure codec and a sans-I/O state machine.

* ``packet``: VRRPv2 (RFC 3768) / VRRPv3 (RFC 5798, RFC 9568) advertisements,
  ``encode``/``decode`` and the typed ``VrrpDecodeError``/``DropReason``.
* ``ippacket``: the same inside full IPv4 datagrams (raw sockets), and the
  IPv6 payload-plus-ancillary-data form.
* ``checksum``: the Internet checksum and pseudo-headers.
* ``fsm``: ``VrrpRouter``, the RFC 5798 6.4 state machine (plus FAULT);
  ``router_config.RouterConfig`` its settings, ``events`` its actions and
  counters, ``timers`` the skew / down-interval formulas, ``validate`` the
  instance-level drop checks.

Nothing in this package opens a socket, sleeps or imports asyncio.
See docs/vrrp.md.
"""
from .events import (
    Action,
    AddAddresses,
    Counters,
    GarpReason,
    RemoveAddresses,
    SendAdvert,
    SendGratuitousArp,
    State,
    StateChanged,
    TransitionReason,
)
from .fsm import VrrpRouter
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
from .router_config import RouterConfig

__all__ = [
    "MCAST_IPV4", "MCAST_IPV6", "VRRP_TTL", "Action", "AddAddresses", "Advertisement", "AuthType",
    "ChecksumForm", "Counters", "DropReason", "GarpReason", "ReceivedAdvert", "RemoveAddresses",
    "RouterConfig", "SendAdvert", "SendGratuitousArp", "State", "StateChanged", "TransitionReason",
    "VrrpDecodeError", "VrrpRouter", "decode", "decode_ipv4_packet", "decode_ipv6", "encode",
    "encode_ipv4_packet",
]
