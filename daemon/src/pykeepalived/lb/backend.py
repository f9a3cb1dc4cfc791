"""The data-plane interface: what the load-balancing plane needs from a kernel table.

A backend is anything with these three methods. IPVS (ipvs.py) is the first;
an in-memory one (memory.py) serves tests; nftables (issue 5) is planned.
A backend that owns a whole table of its own (nftables) can ignore the
ownership record the plane keeps and replace its table in ``apply``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .table import Op, Table


@dataclass(frozen=True)
class Applied:
    op: Op
    error: str | None = None  # None: done

    @property
    def ok(self) -> bool:
        return self.error is None


class Backend(Protocol):
    name: str

    def dump(self) -> Table:
        """Every service in the kernel with its destinations (and their connection counts)."""
        ...

    def apply(self, ops: Sequence[Op]) -> list[Applied]:
        """Apply in order; a failed op is reported and the rest still tried (as keepalived does)."""
        ...

    def close(self) -> None: ...
