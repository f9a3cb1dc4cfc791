"""The data-plane interface: what the load-balancing plane needs from a kernel table.

A backend is anything with these three methods and two attributes: IPVS
(ipvs.py), nftables (nftables.py), and an in-memory one (memory.py) for tests
and for a config without virtual servers.  A backend that owns a whole table
of its own (nftables, ``owns_table``) can ignore the ownership record the
plane keeps and replace its table in ``apply``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from .table import Dest, Op, ServiceKey, Table


@dataclass(frozen=True)
class Applied:
    op: Op
    error: str | None = None  # None: done

    @property
    def ok(self) -> bool:
        return self.error is None


class Backend(Protocol):
    name: str
    owns_table: bool  # True: every service in ``dump`` is ours (no ownership record needed)

    def dump(self, counts: bool = True, servers: Collection[str] | None = None,
             keys: Collection[ServiceKey] | None = None) -> Table:
        """Every service in the kernel with its destinations (and their connection counts: ``counts``).

        A backend may skip the counts when ``counts`` is False (the reconciler never needs them),
        and count only the real servers at ``servers`` addresses when given (others read 0).
        ``keys``: only those services (the ones a reconcile compares), read for them alone.
        """
        ...

    def dests_of(self, keys: Sequence[ServiceKey], addr: str) -> dict[ServiceKey, list[Dest]]:
        """The destinations with address ``addr`` of services ``keys`` (with their connection
        counts), read for that real server only: what a drain waits on."""
        ...

    def apply(self, ops: Sequence[Op]) -> list[Applied]:
        """Apply in order; a failed op is reported and the rest still tried (as keepalived does)."""
        ...

    def close(self) -> None: ...
