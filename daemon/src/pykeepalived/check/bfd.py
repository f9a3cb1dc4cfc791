"""BFD_CHECK: a real server's health from a BFD session's events (keepalived 2.2's check_bfd.c).

The checker is up until the session's first event, or down with ``alpha``;
then each event decides: the session came Up (up) or fell from Up (down),
with no retry and no timer of its own.  A session that never comes Up sends
no event, so it leaves a checker without ``alpha`` up (keepalived's rule).

The events come from the BFD child (bfd/events.py ``EventClient``) or, in an
unsupervised ``-C``, from our own sessions; ``source`` is either (duck-typed:
``event(name)`` and ``changed(name, seen)``).  One attempt lasts until the
next event: the scheduler (check/scheduler.py) then starts the next one at
once (``delay_loop`` 0), so a BFD_CHECK's ``runs`` count its events.
"""

from __future__ import annotations

from typing import Protocol

from .base import BaseChecker, CheckResult, Timing


class EventSource(Protocol):
    def event(self, name: str) -> bool | None: ...

    async def changed(self, name: str, seen: bool | None) -> bool: ...


def timing(alpha: bool) -> Timing:
    """No retry: an event is a verdict (keepalived moves the checker at once)."""
    return Timing(delay_loop=0.0, retry=0, delay_before_retry=0.0, warmup=0.0, alpha=alpha)


def verdict(name: str, up: bool) -> CheckResult:
    return CheckResult(up, f"BFD {name} {'UP' if up else 'DOWN'}")


class BfdChecker(BaseChecker):
    """One BFD_CHECK of one real server; ``target`` is the session's name (logs, repr)."""

    kind = "BFD_CHECK"

    def __init__(self, name: str, source: EventSource) -> None:
        self.target = name
        self.name, self.source = name, source
        self.seen: bool | None = None  # the event the last attempt reported

    def config_key(self) -> tuple:
        return (self.kind, self.name)

    async def check(self) -> CheckResult:
        self.seen = await self.source.changed(self.name, self.seen)
        return verdict(self.name, self.seen)
