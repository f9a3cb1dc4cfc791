"""The load-balancing plane: health and operator input in, kernel operations out.

    lb = LoadBalancer(config, IpvsBackend(), runtime_dir)
    lb.start()                                   # adopt/create, remove stale own services
    lb.set_health(vs, rs, up=False, weight=None)  # from the checkers
    result = lb.reconcile()                      # -> applied ops + quorum events
    lb.stop()                                    # clear own services (or leave them)

Nothing here reaches the kernel except through the backend, and nothing
happens between calls: the daemon decides when to reconcile (e.g. once per
loop iteration after health changes).

A reconcile costs what changed, not the whole config: each virtual server's
share of the desired state (``desired.compute_vs``) is kept and used again
while its inputs are the same (the same VirtualServer object, which a
reload hands over for an unchanged block, core/snapshot.py; no health
change for it; no operator selector naming one of its addresses; its
quorum as computed). Only services whose desired object changed are
diffed, and only they are read from the kernel (IPVS: one dest dump each;
reading the whole table back cost 2,001 round trips at 2,000 x 20); every
service is after a start and after a failed apply. So, as with keepalived,
a change someone else makes to our IPVS services (ipvsadm) is put right
when that service changes, or at the next start or failed apply, not at
every reconcile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config.model import Config
from ..config.model_lvs import RealServer, VirtualServer
from .backend import Applied, Backend
from .desired import Assembly, Desired, Health, Overrides, QuorumChange, RsKey, Selector, compute, compute_vs
from .ownership import load_owned, save_owned
from .reconcile import reconcile
from .services import rs_key
from .table import Op, ServiceKey, norm_addr


@dataclass
class Result:
    applied: list[Applied] = field(default_factory=list)
    events: list[QuorumChange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ops(self) -> list[Op]:
        return [a.op for a in self.applied if a.ok]


def _vkey(vs: VirtualServer | str) -> str:
    return vs.key if isinstance(vs, VirtualServer) else vs


def _rkey(rs: RealServer | RsKey) -> RsKey:
    return rs_key(rs) if isinstance(rs, RealServer) else (norm_addr(rs[0]), rs[1])


class LoadBalancer:
    def __init__(self, config: Config, backend: Backend, runtime_dir: str | Path, *,
                 flush_on_stop: bool = True) -> None:
        self.config = config
        self.backend = backend
        self.dir = Path(runtime_dir)
        self.flush_on_stop = flush_on_stop  # keepalived removes its services on exit by default
        self.health: dict[tuple[str, RsKey], Health] = {}
        self.overrides = Overrides()
        self.quorum: dict[str, bool] = {}
        self.owned: set[ServiceKey] = load_owned(self.dir)
        self.desired: Desired | None = None
        self._assembly = Assembly()  # each block's part of the desired state, by id(block)
        self._blocks: dict[int, VirtualServer] = {}  # the blocks of the parts, by id (held: ids stay theirs)
        self._vkeys: dict[int, str] = {}  # their keys (formatting 2,000 addresses showed in a reload's profile)
        self._groups: tuple[object, dict] = (None, {})  # the groups dict computed with, and its entries then
        self._dirty: set[str] = set()  # virtual servers whose health changed since their part
        self._ov_seen: tuple[frozenset[Selector], dict[Selector, int]] | None = None
        self._clean = False  # the last apply did all it was asked: unchanged services need no diff

    # -- inputs -------------------------------------------------------------
    def set_health(self, vs: VirtualServer | str, rs: RealServer | RsKey, up: bool,
                   weight: int | None = None) -> None:
        self.health[(_vkey(vs), _rkey(rs))] = Health(up, weight)
        self._dirty.add(_vkey(vs))

    def drain(self, addr: str, port: int | None = None, vs: VirtualServer | str | None = None,
              drained: bool = True) -> None:
        """Weight 0 for a real server (every virtual server, or one): no new connections."""
        sel: Selector = (None if vs is None else _vkey(vs), norm_addr(addr), port)
        (self.overrides.drained.add if drained else self.overrides.drained.discard)(sel)

    def set_weight(self, addr: str, weight: int | None, port: int | None = None,
                   vs: VirtualServer | str | None = None) -> None:
        """An operator's weight, above the checkers' and the config's; None removes it."""
        sel: Selector = (None if vs is None else _vkey(vs), norm_addr(addr), port)
        if weight is None:
            self.overrides.weights.pop(sel, None)
        else:
            self.overrides.weights[sel] = weight

    # -- actions ------------------------------------------------------------
    def start(self) -> Result:
        """First reconcile; with global_defs lvs_flush the whole kernel table is flushed first."""
        result = Result()
        self._clean = False  # a start compares every service with what the kernel has
        if self.config.global_defs.lvs_flush:
            result.applied += self.backend.apply([Op("del", s.spec) for s in self.backend.dump(counts=False).values()])
        later = self.reconcile()
        result.applied += later.applied
        result.events, result.errors = later.events, later.errors
        return result

    def reload(self, config: Config) -> Result:
        """New config; health of real servers that still exist is kept."""
        self.config = config
        return self.reconcile()

    def _sync(self) -> tuple[list[int], dict[int, VirtualServer], set[int]]:
        """The config's blocks by id, against the ones computed last: (ids in config order,
        blocks that are new objects, ids gone). A reload hands an unchanged block over as the
        same object (core/snapshot.py), so this is set arithmetic at C speed over the ids."""
        servers = self.config.virtual_servers
        order = list(map(id, servers))
        now = dict(zip(order, servers))
        had = self._blocks
        added = {i: now[i] for i in now.keys() - had.keys()}
        gone = had.keys() - now.keys()
        groups = self.config.virtual_server_groups
        if groups is not self._groups[0]:  # a group object changed: its members are computed again
            old = self._groups[1]
            moved = {g for g in old.keys() | groups.keys() if old.get(g) is not groups.get(g)}
            self._groups = (groups, dict(groups))
            if moved:
                added.update((i, vs) for i, vs in now.items() if vs.group in moved)
        if gone:
            self._forget({i: had[i] for i in gone}, added.values())
        self._blocks = now  # holds the objects, so their ids stay theirs
        return order, added, gone

    def _forget(self, gone: dict[int, VirtualServer], added) -> None:
        """Health of the real servers of blocks gone, except those a new block still has."""
        keys = self._vkeys
        keep = {(vs.key, rs_key(rs)) for vs in added for rs in vs.real_servers}
        for i, vs in gone.items():
            vkey = keys.pop(i, None) or vs.key
            for rs in vs.real_servers:
                if (vkey, rs_key(rs)) not in keep:
                    self.health.pop((vkey, rs_key(rs)), None)

    def _touched_addrs(self) -> set[str] | None:
        """Addresses named by operator selectors changed since the last compute (None: all)."""
        ov, seen = self.overrides, self._ov_seen
        self._ov_seen = (frozenset(ov.drained), dict(ov.weights))
        if seen is None:
            return None
        drained, weights = seen
        sels = (drained ^ ov.drained) | {s for s in weights.keys() | ov.weights.keys()
                                         if weights.get(s) != ov.weights.get(s)}
        return {addr for _, addr, _ in sels}

    def _compute(self) -> tuple[Desired, list[ServiceKey]]:
        """The desired state, computing again only the blocks whose inputs moved: new objects,
        a changed group, health changed, named by an operator selector that changed. Returns it
        with the kernel services whose entry may differ."""
        order, stale, gone = self._sync()
        parts, touched = self._assembly.parts, self._touched_addrs()
        if touched is None:
            stale = dict(self._blocks)
        elif touched:
            stale.update((i, self._blocks[i]) for i, p in parts.items() if p.addrs & touched and i not in gone)
        for vkey in self._dirty:
            stale.update((i, self._blocks[i]) for i in self._assembly.named(vkey) if i not in gone)
        self._dirty = set()
        new = {}
        where = dict(zip(order, range(len(order)))) if len(stale) > 1 else {}
        for i, vs in sorted(stale.items(), key=lambda item: where.get(item[0], 0)):  # in config order
            vkey = self._vkeys.get(i)
            if vkey is None:
                vkey = self._vkeys[i] = vs.key
            prev = self.quorum.get(vkey) if vs.real_servers else None
            new[i] = compute_vs(vs, self.config.virtual_server_groups, self.health, self.overrides, prev)
        return self._assembly.update(order, new, gone)

    def reconcile(self) -> Result:
        clean = self.desired is not None and self._clean
        desired, changed = self._compute()
        self.desired = desired
        self.quorum = desired.quorum
        want, names = desired.table, None
        if clean:  # only the services whose desired state moved, read for them alone
            want = {k: desired.table[k] for k in changed if k in desired.table}
            names = set(changed)
        actual = self.backend.dump(counts=False, keys=names)  # connection counts are for status only
        owned = self.owned | (set(actual) if self.backend.owns_table else set())
        applied = self.backend.apply(reconcile(want, actual, owned))
        self._clean = all(a.ok for a in applied)
        failed = {(a.op.action, a.op.service.key) for a in applied if a.op.kind == "service" and not a.ok}
        # own what is there now: desired ones we could add (or found), plus ones we failed to delete
        self._own(set(desired.table) if not failed else  # (a set of a dict's keys hashes none again)
                  {k for k in desired.table if ("add", k) not in failed} | {k for action, k in failed if action == "del"})
        errors = desired.errors + [f"{a.op}: {a.error}" for a in applied if not a.ok]
        return Result(applied, desired.events, errors)

    def stop(self) -> Result:
        """Remove our services (flush_on_stop) or leave them for the next start to adopt;
        global_defs ``lvs_flush_on_stop`` (full) removes every service of the table."""
        self._clean = False  # the table changes under the desired state: the next start diffs it all
        if not self.flush_on_stop:
            return Result()
        actual = self.backend.dump(counts=False)
        doomed = sorted(self.owned)
        if self.config.global_defs.lvs_flush_on_stop == "full" and self.config.virtual_servers:
            doomed = sorted(actual)  # keepalived's ipvs_flush: every service, ours or not
        applied = self.backend.apply([Op("del", actual[k].spec) for k in doomed if k in actual])
        self._own({a.op.service.key for a in applied if not a.ok})
        return Result(applied, [], [f"{a.op}: {a.error}" for a in applied if not a.ok])

    def close(self) -> None:
        self.backend.close()

    def _own(self, keys: set[ServiceKey]) -> None:
        if keys != self.owned or not (self.dir / "lb-owned.json").exists():
            self.owned = keys
            save_owned(self.dir, keys)

    # -- status -------------------------------------------------------------
    def status(self, servers: set[str] | None = None) -> dict:
        """Per virtual server: quorum, and per real server its state and the kernel's view.

        ``servers``: addresses whose connection counts are wanted (None: all).
        """
        desired = self.desired or compute(self.config, self.health, self.overrides, self.quorum)
        actual = self.backend.dump(servers=servers)
        views = desired.servers_by_vs()
        out = []
        for vs in self.config.virtual_servers:
            vkey = vs.key
            services = desired.services.get(vkey, [])
            rss = []
            for v in views.get(vkey, ()):
                kernel = []
                for k in services:
                    port = v.rs[1] if v.rs[1] is not None else k.port
                    d = actual.get(k).dests.get((v.rs[0], port)) if k in actual else None
                    if d is not None:
                        kernel.append({"service": str(k), "weight": d.weight, "method": d.method,
                                       "active": d.active, "inactive": d.inactive})
                rss.append({"address": v.rs[0], "port": v.rs[1], "up": v.up, "weight": v.configured_weight,
                            "effective_weight": v.weight, "drained": v.drained, "in_table": v.in_table,
                            "kernel": kernel})
            out.append({"virtual_server": vkey, "quorum_up": desired.quorum.get(vkey),
                        "services": [str(k) for k in services], "real_servers": rss})
        return {"backend": self.backend.name, "virtual_servers": out}

