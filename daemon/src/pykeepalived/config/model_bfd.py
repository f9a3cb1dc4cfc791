"""``bfd_instance NAME { ... }``: a BFD session (RFC 5880; RFC 5881 single hop, RFC 5883
multihop) that VRRP instances track (``track_bfd``) and real servers check (``BFD_CHECK``)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Location
from .model_vrrp import IPAddress, _loc, _locs

SINGLE_HOP_PORT, MULTIHOP_PORT = 3784, 4784


@dataclass
class BfdInstance:
    """keepalived.conf(5), "BFD instance".  Intervals in milliseconds as written
    (keepalived reads three decimals); defaults are keepalived 2.2.7's.

    ``ttl`` 0 means the family default (255 for IPv4, 64 for IPv6, as keepalived);
    a received packet is dropped when its TTL is below ``ttl - max_hops``
    (GTSM, RFC 5881 5), and ``max_hops`` -1 turns the check off.

    ``multihop`` (keepalived 2.3's keyword): RFC 5883's port 4784 instead of 3784; the
    hops between are allowed for by ``max_hops``, as in keepalived.

    ``for_vrrp`` / ``for_checker``: which children hear its events (keepalived's
    ``vrrp`` and ``checker`` keywords; neither given: both).
    """

    name: str
    neighbor_ip: IPAddress
    source_ip: IPAddress | None = None
    min_rx: float = 10.0
    min_tx: float = 10.0
    idle_tx: float = 1000.0
    multiplier: int = 5
    passive: bool = False
    ttl: int = 0
    max_hops: int = 0
    multihop: bool = False
    weight: int = 0
    weight_reverse: bool = False
    for_vrrp: bool = True
    for_checker: bool = True
    loc: Location = _loc()
    locs: dict[str, Location] = _locs()

    @property
    def family(self) -> int:
        return self.neighbor_ip.version

    @property
    def port(self) -> int:
        """The neighbour's UDP port, and the one we listen on (RFC 5881 4, RFC 5883 5)."""
        return MULTIHOP_PORT if self.multihop else SINGLE_HOP_PORT

    @property
    def effective_ttl(self) -> int:
        return self.ttl or (255 if self.family == 4 else 64)


@dataclass
class BfdCheck:
    """``BFD_CHECK { name BFD [alpha] }`` in a real_server (keepalived 2.2's check_bfd.c):
    the checker goes down when the named session falls from Up and up when it comes Up.
    Until the session's first event it is up, or down with ``alpha`` (None: the real
    server's or virtual server's ``alpha``, as for every checker)."""

    kind: str = "BFD_CHECK"
    name: str = ""
    alpha: bool | None = None
    loc: Location = _loc()
    locs: dict[str, Location] = _locs()
