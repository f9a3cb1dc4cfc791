"""vrrp_sync_group: member instances change state together (keepalived vrrp_sync.c), pure.

VRRP itself (RFC 5798) has no groups; keepalived's rules, which we follow:

* **FAULT**: while any member is in FAULT through its own tracking, every
  other member is held in FAULT too (a master among them sends priority 0
  first, RFC 5798 6.4.3);
* **BACKUP**: when one member is a Backup that accepts a live master while
  another member is Master, the masters step down (with priority 0, so the
  peer's members take over after Skew_Time);
* **MASTER**: a member whose Master_Down_Timer fires only *wants* master
  (``VrrpRouter.sync_hold``); when every member is Master or wants it, the
  waiting ones become Master together.

``SyncGroup.reconcile(now)`` applies the rules once to the members'
``VrrpRouter`` objects (no clock, no I/O) and returns the group's state,
which the caller compares with the last one to run the group's notify.
"""
from __future__ import annotations

from collections.abc import Sequence

from .events import State
from .fsm import VrrpRouter

TRACK, SYNC = "track", "sync"  # VrrpRouter fault sources


class SyncGroup:
    """The members of one vrrp_sync_group, by their routers."""

    def __init__(self, name: str, routers: Sequence[VrrpRouter]) -> None:
        self.name = name
        self.routers = list(routers)
        self.state = State.INITIALIZE
        for r in self.routers:
            r.sync_hold = len(self.routers) > 1  # a lone member needs nobody's consent

    def reconcile(self, now: float) -> State:
        """Bring the members in line (one pass suffices: each rule's result satisfies the others)."""
        members = self.routers
        faulty = {id(r) for r in members if r.fault_from(TRACK)}
        for r in members:
            # every member but the faulty one is held by the group; the faulty one by itself
            r.set_fault(bool(faulty - {id(r)}), now, SYNC)
        live = [r for r in members if r.state is not State.INITIALIZE]
        if any(r.state is State.BACKUP and not r.wants_master for r in live):
            for r in live:
                r.force_backup(now)
        elif live and all(r.state is State.MASTER or r.wants_master for r in live):
            for r in live:
                r.force_master(now)
        self.state = group_state([r.state for r in members])
        return self.state


def group_state(states: Sequence[State]) -> State:
    """FAULT if any member is, MASTER if all are, INITIALIZE if all stopped, else BACKUP."""
    if State.FAULT in states:
        return State.FAULT
    if states and all(s is State.MASTER for s in states):
        return State.MASTER
    if all(s is State.INITIALIZE for s in states):
        return State.INITIALIZE
    return State.BACKUP
