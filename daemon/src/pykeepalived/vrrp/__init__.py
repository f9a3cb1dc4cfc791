"""VRRP for pykeepalived, in two halves.

The pure half (no socket, no sleep, no asyncio; time is a parameter), which this
package's namespace re-exports:

* ``packet``: VRRPv2 (RFC 3768) / VRRPv3 (RFC 5798, RFC 9568) advertisements,
  ``encode``/``decode`` and the typed ``VrrpDecodeError``/``DropReason``.
* ``ippacket``: the same inside full IPv4 datagrams (raw sockets), and the
  IPv6 payload-plus-ancillary-data form (checksums: ``net/checksum.py``).
* ``fsm``: ``VrrpRouter``, the RFC 5798 6.4 state machine (plus FAULT);
  ``router_config`` its settings (``RouterConfig``), ``events`` its actions
  and counters, ``timers`` the skew / down-interval formulas, ``validate`` the
  instance-level drop checks.
* ``sync``: a sync group's rule over its members' state machines.
* ``from_config``: a parsed ``vrrp_instance`` -> ``RouterConfig``.
* ``plan``: what a new config does to the running instances (start and reload).

The asyncio adapter, which opens sockets and runs scripts: ``transport`` (raw
sockets), ``instance`` (state machine + transport + VIPs + notify), ``routing``
(static_/virtual_ routes, rules and static addresses as netlink specs), ``track``
(vrrp_script, track_file), ``group`` (sync groups at run time) and ``manager``
(every instance of a config: ``apply``, ``stop``).  Importing this package loads
only the pure half; daemon/tests/vrrp/test_vrrp_purity.py holds it to that.
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
