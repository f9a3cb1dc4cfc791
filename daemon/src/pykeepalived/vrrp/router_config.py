"""The per-instance settings the VRRP state machine needs (a slice of vrrp_instance).

Names follow keepalived.conf; defaults are keepalived 2.2.7's.  The config
package maps a parsed ``vrrp_instance`` onto this; nothing here parses.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from ..compat import SLOTS
from .events import State
from .packet import MCAST_IPV4, MCAST_IPV6, V3_MAX_INTERVAL, Advertisement, AuthType, ChecksumForm, IPAddress
from .timers import DOWN_TIMER_ADVERTS, HANDOVER_LINGER, PRIORITY_OWNER


@dataclass(frozen=True, **SLOTS)
class RouterConfig:
    """One virtual router as seen by the state machine.

    ``address`` is our primary address on the interface: the source of our
    adverts and the tie-break key when priorities are equal (RFC 5798 6.4.3,
    higher address wins).  ``virtual_addresses`` are the addresses carried in
    adverts, in order.  ``advert_interval`` is in seconds (v2: whole seconds,
    v3: a multiple of 0.01 up to 40.95).
    """

    vrid: int
    priority: int
    address: IPAddress
    virtual_addresses: tuple[IPAddress, ...] = ()
    version: int = 2
    advert_interval: float = 1.0
    preempt: bool = True  # "nopreempt" sets False
    preempt_delay: float = 0.0  # seconds; keepalived range 0..1000
    initial_state: State = State.BACKUP  # "state MASTER": shorter first timeout
    auth_type: AuthType = AuthType.NONE  # v2 only; AH is refused
    auth_pass: bytes = b""  # v2 PASS, at most 8 bytes
    garp_master_delay: float = 5.0  # second burst after becoming master; 0 = none
    garp_master_repeat: int = 5
    garp_master_refresh: float = 0.0  # periodic while master; 0 = off
    garp_master_refresh_repeat: int = 1
    garp_lower_prio_delay: float | None = None  # None: garp_master_delay
    garp_lower_prio_repeat: int | None = None  # None: garp_master_repeat
    lower_prio_no_advert: bool = False  # True: strict RFC, do not answer lower adverts
    higher_prio_send_advert: bool = False
    check_addresses: bool = True  # False: keepalived's skip_check_adv_addr
    unicast_peers: tuple[IPAddress, ...] = ()  # unicast mode: adverts go to, and come only from, these
    # (min_ttl, max_ttl) an advert from each unicast peer must arrive with (keepalived: 0..255)
    unicast_peer_ttls: tuple[tuple[int, int], ...] = ()
    multicast_group: IPAddress | None = None  # multicast mode: None is 224.0.0.18 / ff02::12
    graceful_handover: bool = True  # ours: a leaving master keeps its addresses until a new one speaks
    handover_linger: float = HANDOVER_LINGER  # ours: and this long past the new master's first advert
    split_brain_garp: bool = True  # ours: re-announce the addresses when a split brain heals (vrrp/fsm.py)
    down_timer_adverts: int = DOWN_TIMER_ADVERTS  # keepalived's: adverts missed before Master_Down (1..100)
    # keepalived's old_unicast_checksum: v3 IPv4 unicast adverts summed as if sent to 224.0.0.18
    checksum_form: ChecksumForm = ChecksumForm.RFC

    def __post_init__(self) -> None:
        if not 1 <= self.vrid <= 255:
            raise ValueError(f"virtual_router_id {self.vrid} not in 1..255")
        if not 1 <= self.priority <= PRIORITY_OWNER:
            raise ValueError(f"priority {self.priority} not in 1..255")
        if self.version not in (2, 3):
            raise ValueError(f"version {self.version} not 2 or 3")
        family = type(self.address)
        if family not in (IPv4Address, IPv6Address):
            raise TypeError("address must be an IPv4Address or IPv6Address")
        if any(type(a) is not family for a in self.virtual_addresses):
            raise ValueError("virtual addresses must have the family of the primary address")
        if len(self.virtual_addresses) > 255:
            raise ValueError("at most 255 virtual addresses fit an advert")
        if self.version == 2:
            if family is IPv6Address:
                raise ValueError("VRRPv2 is IPv4 only; use version 3 for IPv6")
            if self.advert_interval != int(self.advert_interval) or not 1 <= self.advert_interval <= 255:
                raise ValueError(f"v2 advert_int {self.advert_interval} must be whole seconds 1..255")
        elif not 1 <= round(self.advert_interval * 100) <= V3_MAX_INTERVAL:
            raise ValueError(f"v3 advert_int {self.advert_interval} not in 0.01..40.95")
        if self.auth_type == AuthType.AH:
            raise ValueError("IPsec AH authentication is not supported")
        if self.auth_type != AuthType.NONE and self.version != 2:
            raise ValueError("authentication exists in VRRPv2 only")
        if len(self.auth_pass) > 8:
            raise ValueError("auth_pass is at most 8 bytes")
        if not 0 <= self.preempt_delay <= 1000:
            raise ValueError(f"preempt_delay {self.preempt_delay} not in 0..1000")
        if any(type(p) is not family for p in self.unicast_peers):
            raise ValueError("unicast peers must have the family of the primary address")
        if self.unicast_peer_ttls and len(self.unicast_peer_ttls) != len(self.unicast_peers):
            raise ValueError("one (min_ttl, max_ttl) per unicast peer")
        if any(not 0 <= lo <= hi <= 255 for lo, hi in self.unicast_peer_ttls):
            raise ValueError("unicast peer TTL bounds must satisfy 0 <= min_ttl <= max_ttl <= 255")
        if not 1 <= self.down_timer_adverts <= 100:
            raise ValueError(f"down_timer_adverts {self.down_timer_adverts} not in 1..100")
        if self.initial_state not in (State.BACKUP, State.MASTER):
            raise ValueError("initial_state is BACKUP or MASTER")

    @property
    def group(self) -> IPAddress:
        """The multicast destination of adverts (multicast mode)."""
        if self.multicast_group is not None:
            return self.multicast_group
        return MCAST_IPV4 if type(self.address) is IPv4Address else MCAST_IPV6

    def peer_ttl_range(self, peer: IPAddress) -> tuple[int, int]:
        """The TTLs (hop limits) accepted from unicast ``peer``; any when not bounded."""
        if self.unicast_peer_ttls and peer in self.unicast_peers:
            return self.unicast_peer_ttls[self.unicast_peers.index(peer)]
        return (0, 255)

    @property
    def destinations(self) -> tuple[IPAddress, ...]:
        """Where adverts go: each unicast peer, or the multicast group."""
        return self.unicast_peers or (self.group,)

    @property
    def wire_interval(self) -> int:
        """Advert interval field: seconds (v2) or centiseconds (v3)."""
        return int(self.advert_interval) if self.version == 2 else round(self.advert_interval * 100)

    @property
    def interval(self) -> float:
        """Advertisement_Interval in seconds, as the wire carries it."""
        return float(self.wire_interval) if self.version == 2 else self.wire_interval / 100

    @property
    def lower_prio_delay(self) -> float:
        return self.garp_master_delay if self.garp_lower_prio_delay is None else self.garp_lower_prio_delay

    @property
    def lower_prio_repeat(self) -> int:
        return self.garp_master_repeat if self.garp_lower_prio_repeat is None else self.garp_lower_prio_repeat

    def advertisement(self, priority: int) -> Advertisement:
        """The advert this router sends with ``priority``."""
        v2 = self.version == 2
        return Advertisement(
            version=self.version, vrid=self.vrid, priority=priority,
            advert_interval=self.wire_interval, addresses=self.virtual_addresses,
            auth_type=self.auth_type if v2 else AuthType.NONE,
            auth_data=self.auth_pass.ljust(8, b"\0") if v2 else b"", checksum_form=self.checksum_form)
