"""keepalived's ``promote_secondaries``: net.ipv4.conf.IF.promote_secondaries 1 while an instance
asking for it runs on IF, so deleting the primary address of a subnet (a VIP the interface's own
address shares a subnet with, or the reverse) promotes a secondary instead of flushing them all.

Set only where it was 0, and back to 0 when no running instance wants it any more (keepalived
counts its instances the same way); one found at 1 is left alone.  The sysctl is the caller's
network namespace's (/proc/sys/net, net/vmac.py's Sysctl).  A daemon killed meanwhile leaves 1.
"""
from __future__ import annotations

import logging

from .vmac import Sysctl

log = logging.getLogger(__name__)

KEY = "promote_secondaries"


class PromoteSecondaries:
    def __init__(self, sysctl: Sysctl | None = None) -> None:
        self.sysctl = sysctl or Sysctl()
        self.ours: set[str] = set()  # interfaces we turned it on for
        self.wanted: set[str] = set()

    def sync(self, wanted: set[str]) -> None:
        """Make the running instances' wish true: on where newly wanted, off where we set it and
        nobody wants it now (an unchanged wish touches nothing, so a reload does not blink it)."""
        for ifname in sorted(wanted - self.wanted):
            try:
                if self.sysctl.get(4, ifname, KEY) == 0:
                    self.sysctl.set(4, ifname, KEY, 1)
                    self.ours.add(ifname)
                    log.info("%s: promote_secondaries set", ifname)
            except OSError as err:
                log.error("%s: cannot set promote_secondaries: %s", ifname, err)
        for ifname in sorted(self.ours - wanted):
            self.ours.discard(ifname)
            try:
                self.sysctl.set(4, ifname, KEY, 0)
                log.info("%s: promote_secondaries reset", ifname)
            except OSError as err:  # the interface went away with its setting
                log.warning("%s: cannot reset promote_secondaries: %s", ifname, err)
        self.wanted = set(wanted)
