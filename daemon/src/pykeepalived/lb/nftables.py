"""The nftables backend: our own ``table inet pykeepalived``, replaced atomically on each apply.

    backend = NftBackend()                                  # this network namespace
    backend = NftBackend(prefix=["ip", "netns", "exec", ns])  # another one (tests, bench)

``apply(ops)`` computes what the table becomes (``reconcile.apply_ops``, op by
op, so a bad op is reported and the rest still applied) and hands the whole
result to ``nft -f -`` as one transaction (nft_render.py); other tables are
never named. An empty result deletes the table. ``dump()`` reads the table
back (``nft -j``) and adds active/inactive connection counts per real server
from conntrack (``conntrack -L``): active = TCP ESTABLISHED, inactive =
everything else (other TCP states, UDP), as IPVS counts them. ``dests_of``
counts one real server: the table we last wrote (no listing when we know it)
and ``conntrack -L --reply-src ADDR``, the kernel filtering for that server.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import replace

from .backend import Applied
from .nft_render import NAME, TABLE, parse, render
from .reconcile import apply_ops
from .table import Dest, Op, Service, ServiceKey, Table, norm_addr

Counts = dict[tuple[str, int, str, int], list[int]]  # (orig dst, dport, reply src, sport) -> [active, inactive]
MarkCounts = dict[tuple[int, str, int], list[int]]  # (mark, reply src, sport) -> [active, inactive]


def parse_conntrack(text: str) -> tuple[Counts, MarkCounts]:
    """``conntrack -L`` lines -> connection counts per (service, real server) and per (mark, real server)."""
    by_addr: Counts = {}
    by_mark: MarkCounts = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) < 4 or words[0] not in ("tcp", "udp", "sctp"):
            continue
        state = words[3] if "=" not in words[3] else ""
        orig: dict[str, str] = {}
        reply: dict[str, str] = {}
        for w in words[3:]:
            if "=" not in w:
                continue
            k, v = w.split("=", 1)
            (reply if k in orig else orig).setdefault(k, v)
        try:
            slot = 0 if state == "ESTABLISHED" else 1
            rs, rport = norm_addr(reply["src"]), int(reply["sport"])
            key = (norm_addr(orig["dst"]), int(orig["dport"]), rs, rport)
        except (KeyError, ValueError):
            continue
        by_addr.setdefault(key, [0, 0])[slot] += 1
        mark = int(orig.get("mark", "0"), 0)
        if mark:
            by_mark.setdefault((mark, rs, rport), [0, 0])[slot] += 1
    return by_addr, by_mark


class NftBackend:
    name = "nftables"
    owns_table = True  # every service in the dump is ours (the plane needs no ownership record)

    def __init__(self, prefix: Sequence[str] = (), counts: bool = True, timeout: float = 30) -> None:
        self.prefix = list(prefix)
        self.counts = counts
        self.timeout = timeout
        self.maps: list[str] = []
        self._known: Table | None = None  # our table as last listed or written (only we write it)

    def _run(self, args: Sequence[str], text: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, *args], input=text, capture_output=True, text=True,
                              timeout=self.timeout, check=False)

    def listing(self) -> dict:
        r = self._run(["nft", "-j", "list", "table", *TABLE.split()])
        if r.returncode != 0:
            if "No such file" in r.stderr:
                return {"nftables": []}
            raise RuntimeError(f"nft list table {TABLE}: {r.stderr.strip()}")
        return json.loads(r.stdout)

    def _table(self) -> Table:
        table, self.maps = parse(self.listing())
        self._known = {k: Service(v.spec, dict(v.dests)) for k, v in table.items()}
        return table

    def dump(self) -> Table:
        table = self._table()
        if not self.counts or not table:
            return table
        r = self._run(["conntrack", "-L"])
        by_addr, by_mark = parse_conntrack(r.stdout if r.returncode == 0 else "")
        for key, svc in table.items():
            for dk, d in list(svc.dests.items()):
                if key.fwmark:
                    c = by_mark.get((key.fwmark, d.addr, d.port), [0, 0])
                else:
                    c = by_addr.get((key.addr, key.port, d.addr, d.port), [0, 0])
                svc.dests[dk] = replace(d, active=c[0], inactive=c[1])
        return table

    def dests_of(self, keys: Sequence[ServiceKey], addr: str) -> dict[ServiceKey, list[Dest]]:
        table = self._known if self._known is not None else self._table()
        found = {k: [d for d in table[k].dests.values() if d.addr == addr] for k in keys if k in table}
        if not self.counts or not any(found.values()):
            return found
        family = "ipv6" if ":" in addr else "ipv4"
        r = self._run(["conntrack", "-L", "-f", family, "--reply-src", addr])
        by_addr, by_mark = parse_conntrack(r.stdout if r.returncode == 0 else "")
        for key, dests in found.items():
            for i, d in enumerate(dests):
                c = (by_mark.get((key.fwmark, d.addr, d.port)) if key.fwmark
                     else by_addr.get((key.addr, key.port, d.addr, d.port))) or [0, 0]
                dests[i] = replace(d, active=c[0], inactive=c[1])
        return found

    def script(self, table: Table) -> str:
        if not table:
            return f"add table {TABLE}\ndelete table {TABLE}\n"
        return render(table, self.maps)

    def apply(self, ops: Sequence[Op]) -> list[Applied]:
        if not ops:
            return []
        try:
            table = self._known if self._known is not None else self._table()
        except Exception as exc:  # nft missing, unreadable listing: nothing can be applied
            return [Applied(op, f"{type(exc).__name__}: {exc}") for op in ops]
        out: list[Applied] = []
        for op in ops:
            try:
                table = apply_ops(table, [op])
                out.append(Applied(op))
            except KeyError as exc:
                out.append(Applied(op, str(exc)))
        script = self.script(table)
        r = self._run(["nft", "-f", "-"], script)
        self._known = None  # the next apply lists again unless we know exactly what is there
        if r.returncode != 0:
            err = f"nft -f (table {NAME}): {r.stderr.strip()[:500]}"
            return [Applied(a.op, a.error or err) for a in out]
        self._known = table
        self.maps = [ln.split()[1] for ln in script.splitlines() if ln.startswith("\tmap ")]
        return out

    def delete_table(self) -> None:
        """Remove our table whatever it holds (tests, --flush); other tables untouched."""
        self._run(["nft", "-f", "-"], f"add table {TABLE}\ndelete table {TABLE}\n")

    def close(self) -> None:
        pass
