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

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config.model import Config
from ..config.model_lvs import RealServer, VirtualServer
from .backend import Applied, Backend
from .desired import Desired, Health, Overrides, QuorumChange, RsKey, Selector, VsPart, assemble, compute, compute_vs
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
        self._parts: dict[int, tuple[VirtualServer, object, VsPart]] = {}  # id(vs) -> (vs, its group, part)
        self._key_of: dict[int, tuple[VirtualServer, str]] = {}  # id(vs) -> (vs, vs.key), see _keys
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
        keys = self._keys(config.virtual_servers)
        if self.health:  # only blocks that changed can have lost a real server
            same = {k for vs, k in zip(config.virtual_servers, keys) if self._cached(vs) is not None}
            keep = {(k, rs_key(rs)) for vs, k in zip(config.virtual_servers, keys) if k not in same
                    for rs in vs.real_servers}
            self.health = {k: h for k, h in self.health.items() if k[0] in same or k in keep}
        vkeys = {k for vs, k in zip(config.virtual_servers, keys) if vs.real_servers}
        self.quorum = {k: q for k, q in self.quorum.items() if k in vkeys}
        return self.reconcile()

    def _keys(self, servers: tuple[VirtualServer, ...]) -> list[str]:
        """Each one's ``key``, remembered per object: a reload hands most over as the same objects,
        and formatting 2,000 addresses three times a reload showed in its profile."""
        before, now, out = self._key_of, {}, []
        for vs in servers:
            hit = before.get(id(vs))
            if hit is None or hit[0] is not vs:
                hit = (vs, vs.key)
            now[id(vs)] = hit
            out.append(hit[1])
        self._key_of = now
        return out

    def _cached(self, vs: VirtualServer) -> VsPart | None:
        got = self._parts.get(id(vs))
        if got is None or got[0] is not vs or got[1] is not self._group(vs):
            return None
        return got[2]

    def _group(self, vs: VirtualServer) -> object:
        return self.config.virtual_server_groups.get(vs.group) if vs.group is not None else None

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

    def _compute(self) -> Desired:
        """``desired.compute``, each virtual server's part used again while its inputs are the same."""
        touched = self._touched_addrs()
        parts: dict[int, tuple[VirtualServer, object, VsPart]] = {}
        out = []
        for vs, vkey in zip(self.config.virtual_servers, self._keys(self.config.virtual_servers)):
            prev = self.quorum.get(vkey)
            part = self._cached(vs)
            if part is None or touched is None or vkey in self._dirty or part.quorum != prev \
                    or part.addrs & touched:
                part = compute_vs(vs, self.config.virtual_server_groups, self.health, self.overrides, prev)
            out.append(part)
            # its events were reported once: an unchanged part used again reports none
            parts[id(vs)] = (vs, self._group(vs), replace(part, events=[]) if part.events else part)
        self._parts, self._dirty = parts, set()
        return assemble(out)

    def reconcile(self) -> Result:
        before = self.desired.table if self.desired is not None and self._clean else None
        desired = self._compute()
        self.desired = desired
        self.quorum = desired.quorum
        want, names = desired.table, None
        if before is not None:  # only the services whose desired state moved, read for them alone
            want = {k: s for k, s in desired.table.items() if before.get(k) is not s}
            names = want.keys() | (before.keys() - desired.table.keys())
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
        out = []
        for vs in self.config.virtual_servers:
            vkey = vs.key
            services = desired.services.get(vkey, [])
            rss = []
            for v in (v for v in desired.servers if v.vs == vkey):
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

