"""What the VRRP state machine tells its owner: states, reasons, actions, counters.

The state machine never performs I/O; it queues these dataclasses and the
instance layer carries them out (encode and send, netlink, GARP/NA, notify
scripts).  Within one call they are queued in the order to perform them;
a ``StateChanged`` comes after the address and packet work of its
transition, as keepalived runs notify scripts after moving the addresses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from ..compat import SLOTS, StrEnum
from .packet import Advertisement, DropReason, IPAddress


class State(StrEnum):
    """RFC 5798 6.4 states plus keepalived's FAULT."""

    INITIALIZE = "initialize"
    BACKUP = "backup"
    MASTER = "master"
    FAULT = "fault"


class TransitionReason(StrEnum):
    STARTUP = "startup"  # Initialize -> Backup
    ADDRESS_OWNER = "address_owner"  # priority 255: Initialize -> Master at once
    MASTER_DOWN = "master_down"  # Master_Down_Timer fired: no advert heard
    PRIORITY_ZERO = "priority_zero"  # the master resigned; we waited Skew_Time only
    PREEMPT = "preempt"  # we outrank the master and stopped accepting its adverts
    HIGHER_PRIORITY = "higher_priority"  # as master, heard a better advert
    FAULT = "fault"
    FAULT_CLEARED = "fault_cleared"
    SHUTDOWN = "shutdown"
    SYNC_GROUP = "sync_group"  # moved by its vrrp_sync_group (keepalived vrrp_sync.c)
    RESIGN = "resign"  # "pykeepalivedctl resign": a planned switchover; stays Backup until unresign


class GarpReason(StrEnum):
    BECAME_MASTER = "became_master"
    MASTER_DELAY = "master_delay"  # garp_master_delay after becoming master
    REFRESH = "refresh"  # garp_master_refresh, periodic while master
    LOWER_PRIORITY = "lower_priority"  # as master, heard a lower-priority advert
    LOWER_PRIORITY_DELAY = "lower_priority_delay"  # garp_lower_prio_delay after that
    SPLIT_BRAIN_HEALED = "split_brain_healed"  # the other master yielded (ours, split_brain_garp)


@dataclass(frozen=True, **SLOTS)
class SendAdvert:
    """Send ``advert`` now (priority 0 means "master is leaving")."""

    priority: int
    advert: Advertisement


@dataclass(frozen=True, **SLOTS)
class AddAddresses:
    addresses: tuple[IPAddress, ...]


@dataclass(frozen=True, **SLOTS)
class RemoveAddresses:
    addresses: tuple[IPAddress, ...]


@dataclass(frozen=True, **SLOTS)
class SendGratuitousArp:
    """Announce ``addresses``: gratuitous ARP (IPv4) or unsolicited NA (IPv6).

    ``repeat`` messages per address, as keepalived's garp_*_repeat.
    """

    addresses: tuple[IPAddress, ...]
    repeat: int
    reason: GarpReason


@dataclass(frozen=True, **SLOTS)
class StateChanged:
    old: State
    new: State
    reason: TransitionReason


Action = Union[SendAdvert, AddAddresses, RemoveAddresses, SendGratuitousArp, StateChanged]


def _zero_drops() -> dict[DropReason, int]:
    return dict.fromkeys(DropReason, 0)


@dataclass
class Counters:
    """Per-instance statistics (keepalived's vrrp stats, USR2 / control socket)."""

    adverts_sent: int = 0
    adverts_received: int = 0
    priority_zero_sent: int = 0
    priority_zero_received: int = 0
    became_master: int = 0
    released_master: int = 0
    transitions: int = 0
    garp_bursts: int = 0
    handovers: int = 0  # graceful handovers begun (priority 0 sent, addresses kept)
    handovers_answered: int = 0  # ... ended by the new master's advert
    handovers_timed_out: int = 0  # ... ended by Master_Down_Interval without one
    split_brains: int = 0  # as master for an interval or more, heard another master (lower priority)
    lower_priority_received: int = 0  # as master, adverts of a lower priority (keepalived's MASTER_RX_LOWER_PRI)
    drops: dict[DropReason, int] = field(default_factory=_zero_drops)

    def drop(self, reason: DropReason) -> None:
        """Count one dropped packet (decode errors are counted here too)."""
        self.drops[reason] += 1

    @property
    def dropped(self) -> int:
        return sum(self.drops.values())

    def as_dict(self) -> dict[str, object]:
        """JSON-ready view for the control socket and the stats dump."""
        out: dict[str, object] = {k: v for k, v in vars(self).items() if k != "drops"}
        out["drops"] = {reason.value: n for reason, n in self.drops.items()}
        return out
