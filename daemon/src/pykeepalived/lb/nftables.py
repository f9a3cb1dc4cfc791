"""The nftables backend: our own ``table inet pykeepalived``, changed by one transaction per apply.

    backend = NftBackend()                                  # this network namespace
    backend = NftBackend(prefix=["ip", "netns", "exec", ns])  # another one (tests, bench)

``apply(ops)`` computes what the services the ops name become
(``reconcile.apply_ops``, op by op, so a bad op is reported and the rest
still applied) and hands ``nft -f -`` one transaction that touches only them
(``nft_render.update``: their elements in the shared maps, their chains);
other tables are never named. An empty result deletes the table. The backend
gives each service its id (``nft_render.assign_ids``), read back from the
rules' comments at a listing. Before its first transaction it asks nft once
how it encodes a slot key (``swap_keys``: nft 0.9.8 swaps them, see
nft_render).

The backend remembers what it wrote: the table is listed (``nft -j``) once,
at the first dump or apply (start, adopt), and again only when a transaction
fails (the kernel disagrees with our memory: the table is listed and
rewritten whole in the same apply). The first transaction after a listing
rewrites the whole table (``nft_render.render``), so a hand-edited table is
replaced. A listing that finds the previous layout (a daemon of the version
before, adopted at start: ``w_<svc>`` maps, one ``prerouting`` jump per
service) rewrites it into this one at once, in one transaction, with the same
services and weights: conntrack keeps established connections, and new ones
see either layout, never none. ``dump(counts=True)`` adds active/inactive
connection counts per real server from conntrack (``conntrack -L``):
active = TCP ESTABLISHED, inactive = everything else (other TCP states,
UDP), as IPVS counts them; the plane asks for them only for status, never
per reconcile.
``dests_of`` counts one real server: the table we last wrote (no listing when we
know it) and ``conntrack -L --reply-src ADDR``, the kernel filtering for that server.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Collection, Sequence
from dataclasses import replace

from .backend import Applied
from .nft_render import KEY_PROBE, NAME, TABLE, assign_ids, current_layout, keys_swapped, parse, render, update
from .reconcile import apply_op
from .table import Dest, Op, Service, ServiceKey, Table, norm_addr

log = logging.getLogger("pykeepalived.lb")

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


def listing_json(text: str) -> dict:
    """``nft -j list`` output -> its document.

    nft 0.9.8 (Debian 11) prints "warning: stmt ops map have no json callback"
    on stdout before the document for a rule with a map update (persistence).
    """
    start = text.find('{"nftables"')
    return json.loads(text[start:] if start > 0 else text)


class NftBackend:
    name = "nftables"
    owns_table = True  # every service in the dump is ours (the plane needs no ownership record)

    def __init__(self, prefix: Sequence[str] = (), counts: bool = True, timeout: float = 30) -> None:
        self.prefix = list(prefix)
        self.counts = counts
        self.timeout = timeout
        self.maps: list[str] = []
        self.chains: list[str] = []
        self.ids: dict[ServiceKey, int] = {}  # every service's id in the shared maps (nft_render)
        self.migrations = 0  # listings that found the previous layout and rewrote it
        self._known: Table | None = None  # our table as last listed or written (only we write it)
        self._full = True  # the next transaction rewrites the whole table (after a listing)
        self.listings = 0  # nft -j list calls (start, adopt, and after a failed transaction)
        self.last_script = ""
        self._swap: bool | None = None  # slot keys byte-swapped for this nft (nft_render.keys_swapped)

    def _run(self, args: Sequence[str], text: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, *args], input=text, capture_output=True, text=True,
                              timeout=self.timeout, check=False)

    def swap_keys(self) -> bool:
        """Whether this nft writes typeof-numgen keys in network byte order (nft 0.9.8); asked once."""
        if self._swap is None:
            r = self._run(["nft", "-c", "--debug=netlink", "-f", "-"], KEY_PROBE)
            self._swap = r.returncode == 0 and keys_swapped(r.stdout + r.stderr)
            if self._swap:
                log.info("nft writes typeof numgen keys in network byte order (nft 0.9.8): slot keys written swapped")
        return self._swap

    def listing(self) -> dict:
        self.listings += 1
        r = self._run(["nft", "-j", "list", "table", *TABLE.split()])
        if r.returncode != 0:
            if "No such file" in r.stderr:
                return {"nftables": []}
            raise RuntimeError(f"nft list table {TABLE}: {r.stderr.strip()}")
        return listing_json(r.stdout)

    def _table(self) -> Table:
        table, names, ids = parse(self.listing())
        self.maps = [n for n in names if not n.startswith("s_") and n not in ("prerouting", "forward")]
        self.chains = [n for n in names if n.startswith("s_")]
        self.ids = ids
        self._known, self._full = table, True
        if table and not current_layout(names):
            # an older daemon's layout: moved to ours now, in one transaction (a reconcile with
            # nothing to change would otherwise leave it until the next change)
            r = self._write(table, table, set(table))
            if r is not None and r.returncode == 0:
                self.migrations += 1
                self._full = False
        return table

    def dump(self, counts: bool = True, servers: Collection[str] | None = None,
             keys: Collection[ServiceKey] | None = None) -> Table:
        """Our table as we last wrote it (listed once at start); ``counts``: with conntrack's counts.

        ``servers`` (real server addresses): conntrack lists only their
        connections (``--reply-src``), so wait-drain on one server does not
        read the whole connection table. The Service objects are shared with
        the backend's memory: read them, never change them.
        """
        table = dict(self._known) if self._known is not None else dict(self._table())
        if keys is not None:
            table = {k: table[k] for k in keys if k in table}
        if not (counts and self.counts) or not table:
            return table
        text = []
        for args in ([["conntrack", "-L"]] if servers is None else
                     [["conntrack", "-L", "--reply-src", a] for a in sorted(set(servers))]):
            r = self._run(args)
            text.append(r.stdout if r.returncode == 0 else "")
        by_addr, by_mark = parse_conntrack("".join(text))
        for key, svc in table.items():
            dests = {}
            for dk, d in svc.dests.items():
                if key.fwmark:
                    c = by_mark.get((key.fwmark, d.addr, d.port), [0, 0])
                else:
                    c = by_addr.get((key.addr, key.port, d.addr, d.port), [0, 0])
                dests[dk] = replace(d, active=c[0], inactive=c[1])
            table[key] = Service(svc.spec, dests)
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

    def script(self, table: Table, ids: dict[ServiceKey, int] | None = None) -> str:
        if not table:
            return f"add table {TABLE}\ndelete table {TABLE}\n"
        return render(table, self.maps, self.chains, assign_ids(table, self.ids) if ids is None else ids,
                      swap=self.swap_keys())

    def apply(self, ops: Sequence[Op]) -> list[Applied]:
        if not ops:
            return []
        try:
            known = self._known if self._known is not None else self._table()
        except Exception as exc:  # nft missing, unreadable listing: nothing can be applied
            return [Applied(op, f"{type(exc).__name__}: {exc}") for op in ops]
        touched = {op.service.key for op in ops}
        # only the services the ops name are copied, once (a copy per op made a start quadratic)
        part = {k: Service(known[k].spec, dict(known[k].dests)) for k in touched if k in known}
        out: list[Applied] = []
        for op in ops:
            try:
                apply_op(part, op)
                out.append(Applied(op))
            except KeyError as exc:
                out.append(Applied(op, str(exc)))
        table = dict(known)
        for k in touched:
            if k in part:
                table[k] = part[k]
            else:
                table.pop(k, None)
        r = self._write(known, table, touched)
        if r is not None and r.returncode != 0 and not self._full:
            # what we remembered disagrees with the kernel (someone flushed our table?): list, rewrite all
            try:
                self._table()
                r = self._write(self._known or {}, table, touched)
            except Exception as exc:
                r = subprocess.CompletedProcess([], 1, "", f"{type(exc).__name__}: {exc}")
        if r is not None and r.returncode != 0:
            self._known = None  # the next apply or dump lists again
            err = f"nft -f (table {NAME}): {r.stderr.strip()[:500]}"
            return [Applied(a.op, a.error or err) for a in out]
        self._known, self._full = table, False
        return out

    def _write(self, known: Table, table: Table, touched: set) -> subprocess.CompletedProcess | None:
        """One transaction from ``known`` to ``table``; None when nothing differs."""
        full = self._full or not table or not known
        ids = assign_ids(table, {} if full else self.ids)
        if full:
            script = self.script(table, ids)
        else:
            script = update(known, table, touched, {**self.ids, **ids}, swap=self.swap_keys())
        if not script:
            return None
        self.last_script = script
        r = self._run(["nft", "-f", "-"], script)
        if r.returncode == 0:
            self.ids = ids
            if full:
                self.maps = [ln.split()[4] for ln in script.splitlines() if ln.startswith("add map ")]
                self.chains = [ln.split()[1] for ln in script.splitlines() if ln.startswith("\tchain s_")]
            else:  # what a full render must delete later
                for words in (ln.split() for ln in script.splitlines()):
                    if len(words) < 5 or words[1] not in ("map", "chain"):
                        continue
                    names = self.maps if words[1] == "map" else self.chains
                    if words[0] == "add" and words[4] not in names:  # "add map" of a shard may name one we have
                        names.append(words[4])
                    elif words[0] == "delete" and words[4] in names:
                        names.remove(words[4])
        return r

    def delete_table(self) -> None:
        """Remove our table whatever it holds (tests, --flush); other tables untouched."""
        self._run(["nft", "-f", "-"], f"add table {TABLE}\ndelete table {TABLE}\n")
        self._known = None

    def close(self) -> None:
        pass
