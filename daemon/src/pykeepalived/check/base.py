"""What every checker shares: the result type, the target, and the retry/alpha state.

:class:`CheckerState` is pure (no asyncio, time is a parameter) so keepalived's
retry semantics are unit-tested with a virtual clock.  keepalived's rule
(check_tcp.c ``tcp_epilog`` and friends):

* success: reset the retry counter; a DOWN checker goes UP at once;
* failure of an UP checker: retry ``retry`` more times, each after
  ``delay_before_retry``; only when those fail too does it go DOWN;
* failure of a DOWN checker: stay DOWN, next try after ``delay_loop``;
* ``alpha``: start DOWN (keepalived: "assume all RSs are down"), else UP.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Protocol, Union

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


@dataclass(frozen=True)
class CheckResult:
    """One attempt: ``ok``, why not, how long it took, and an optional dynamic weight."""

    ok: bool
    reason: str = ""
    latency: float = 0.0
    weight: int | None = None  # misc_dynamic: exit status - 2


@dataclass(frozen=True)
class Target:
    """Where a checker connects and how (resolved from checker/real server/virtual server)."""

    ip: IPAddress
    port: int | None
    bindto: IPAddress | None = None
    bind_port: int | None = None
    bind_if: str | None = None
    fwmark: int | None = None
    timeout: float = 5.0

    @property
    def family(self) -> int:
        return socket.AF_INET6 if self.ip.version == 6 else socket.AF_INET

    def sockaddr(self, port: int | None = None) -> tuple:
        return (str(self.ip), port if port is not None else (self.port or 0))

    def __str__(self) -> str:
        ip = f"[{self.ip}]" if self.ip.version == 6 else str(self.ip)
        return f"{ip}:{self.port}" if self.port is not None else ip


class Checker(Protocol):
    """A health check: one attempt per ``check()``; ``compare()`` says "same config"."""

    kind: str

    async def check(self) -> CheckResult: ...

    def compare(self, other: object) -> bool: ...


class BaseChecker:
    """Common ``compare()``: same class and same configuration tuple ⇒ a reload keeps state."""

    kind = "?"

    def __init__(self, target: Target) -> None:
        self.target = target

    def config_key(self) -> tuple:
        """Everything that defines this checker; subclasses extend it."""
        return (self.kind, self.target)

    def compare(self, other: object) -> bool:
        return type(other) is type(self) and other.config_key() == self.config_key()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"<{self.kind} {self.target}>"


@dataclass
class Timing:
    """The resolved timers of one checker (seconds)."""

    delay_loop: float = 60.0
    retry: int = 1
    delay_before_retry: float = 1.0
    warmup: float = 0.0
    alpha: bool = False
    log_all_failures: bool = False  # each failed attempt while UP is logged (keepalived's)


@dataclass
class CheckerState:
    """keepalived's per-checker state machine; ``record()`` returns the delay to the next attempt."""

    timing: Timing
    up: bool = field(init=False)
    retry_it: int = 0
    has_run: bool = False
    weight: int | None = None
    last: CheckResult | None = None
    changes: int = 0

    def __post_init__(self) -> None:
        self.up = not self.timing.alpha

    def record(self, result: CheckResult) -> float:
        """Apply one result; the delay until the next attempt."""
        self.last = result
        self.has_run = True
        if result.ok:
            self.retry_it = 0
            if result.weight is not None:
                self.weight = result.weight
            if not self.up:
                self.up = True
                self.changes += 1
            return self.timing.delay_loop
        if self.up and self.retry_it < self.timing.retry:
            self.retry_it += 1
            return self.timing.delay_before_retry
        self.retry_it = 0
        if self.up:
            self.up = False
            self.changes += 1
        return self.timing.delay_loop
