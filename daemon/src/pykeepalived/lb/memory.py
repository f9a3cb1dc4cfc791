"""An in-memory backend with the kernel's strictness (add of an existing entry fails, ...)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from .backend import Applied
from .reconcile import apply_op
from .table import Dest, Op, Service, ServiceKey, Table


class MemoryBackend:
    name = "memory"
    owns_table = False  # as IPVS: one table shared with services that are not ours

    def __init__(self, table: Table | None = None) -> None:
        self.table: Table = table or {}
        self.log: list[Op] = []

    def dump(self, counts: bool = True, servers: Collection[str] | None = None,
             keys: Collection[ServiceKey] | None = None) -> Table:
        return {k: Service(s.spec, dict(s.dests)) for k, s in self.table.items() if keys is None or k in keys}

    def dests_of(self, keys: Sequence[ServiceKey], addr: str) -> dict[ServiceKey, list[Dest]]:
        return {k: [d for d in self.table[k].dests.values() if d.addr == addr] for k in keys if k in self.table}

    def apply(self, ops: Sequence[Op]) -> list[Applied]:
        out = []
        for op in ops:
            try:
                apply_op(self.table, op)  # the table is ours: changed in place, op by op
                self.log.append(op)
                out.append(Applied(op))
            except KeyError as exc:
                out.append(Applied(op, str(exc)))
        return out

    def close(self) -> None:
        pass
