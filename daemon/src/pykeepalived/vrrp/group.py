"""A running vrrp_sync_group: reconciles its members after every event, runs the group's notify.

The rules are in ``sync.py`` (pure); this binds them to ``Instance`` objects:
any member's event calls ``reconcile()``, which lets the group move the
other members' state machines and then has every member perform its queued
actions.  The group's own notify (scripts with ``GROUP NAME STATE 0``,
fifo line, smtp alert) runs when the group's state changes (keepalived
reports priority 0 for groups).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..config.model_vrrp import VrrpSyncGroup
from .events import State
from .sync import SyncGroup

if TYPE_CHECKING:
    from .instance import Instance, Runtime

log = logging.getLogger("pykeepalived.vrrp")


class GroupRunner:
    def __init__(self, spec: VrrpSyncGroup, members: list[Instance], runtime: Runtime) -> None:
        self.spec, self.members, self.rt = spec, members, runtime
        self.sync = SyncGroup(spec.name, [m.router for m in members])
        self._busy = False
        for m in members:
            m.group = self

    def reconcile(self) -> None:
        """Apply the group rules, then let every member carry out its actions (re-entrancy safe)."""
        if self._busy:
            return
        self._busy = True
        try:
            before = self.sync.state
            after = self.sync.reconcile(self.members[0].now())
            for m in self.members:
                m.act()
        finally:
            self._busy = False
        if after is not before and after is not State.INITIALIZE:
            self._notify(before, after)

    def _notify(self, before: State, after: State) -> None:
        state = after.value.upper()
        log.info("(%s) sync group %s -> %s", self.spec.name, before.value.upper(), state)
        self.rt.state_changed("GROUP", self.spec.name, self.spec.notify, state, 0, self.spec.smtp_alert)

    def stopped(self) -> None:
        """After the members stopped: the group's notify_stop only (STOP applies to instances)."""
        if self.spec.notify.notify_stop is not None:
            self.rt.notifier.spawn(self.spec.notify.notify_stop.argv)

    def status(self) -> dict[str, object]:
        return {"name": self.spec.name, "state": self.sync.state.value.upper(),
                "members": [m.name for m in self.members]}
