"""The load-balancing plane: health and operator input in, kernel operations out.

    lb = LoadBalancer(config, IpvsBackend(), runtime_dir)
    lb.start()                                   # adopt/create, remove stale own services
    lb.set_health(vs, rs, up=False, weight=None)  # from the checkers
    result = lb.reconcile()                      # -> applied ops + quorum events
    lb.stop()                                    # clear own services (or leave them)

Nothing here reaches the kernel except through the backend, and nothing
happens between calls: the daemon decides when to reconcile (e.g. once per
loop iteration after health changes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config.model import Config
from ..config.model_lvs import RealServer, VirtualServer
from .backend import Applied, Backend
from .desired import Desired, Health, Overrides, QuorumChange, RsKey, Selector, compute
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

    # -- inputs -------------------------------------------------------------
    def set_health(self, vs: VirtualServer | str, rs: RealServer | RsKey, up: bool,
                   weight: int | None = None) -> None:
        self.health[(_vkey(vs), _rkey(rs))] = Health(up, weight)

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
        if self.config.global_defs.lvs_flush:
            result.applied += self.backend.apply([Op("del", s.spec) for s in self.backend.dump(counts=False).values()])
        later = self.reconcile()
        result.applied += later.applied
        result.events, result.errors = later.events, later.errors
        return result

    def reload(self, config: Config) -> Result:
        """New config; health of real servers that still exist is kept."""
        self.config = config
        keep = {(vs.key, rs_key(rs)) for vs in config.virtual_servers for rs in vs.real_servers}
        self.health = {k: h for k, h in self.health.items() if k in keep}
        vkeys = {v for v, _ in keep}  # once: built inside the comprehension it made a reload quadratic
        self.quorum = {k: q for k, q in self.quorum.items() if k in vkeys}
        return self.reconcile()

    def reconcile(self) -> Result:
        desired = compute(self.config, self.health, self.overrides, self.quorum)
        self.desired = desired
        self.quorum = desired.quorum
        actual = self.backend.dump(counts=False)  # connection counts are for status only
        owned = self.owned | (set(actual) if self.backend.owns_table else set())
        applied = self.backend.apply(reconcile(desired.table, actual, owned))
        failed = {(a.op.action, a.op.service.key) for a in applied if a.op.kind == "service" and not a.ok}
        # own what is there now: desired ones we could add (or found), plus ones we failed to delete
        self._own({k for k in desired.table if ("add", k) not in failed}
                  | {k for action, k in failed if action == "del"})
        errors = desired.errors + [f"{a.op}: {a.error}" for a in applied if not a.ok]
        return Result(applied, desired.events, errors)

    def stop(self) -> Result:
        """Remove our services (flush_on_stop) or leave them for the next start to adopt."""
        if not self.flush_on_stop:
            return Result()
        actual = self.backend.dump(counts=False)
        applied = self.backend.apply([Op("del", actual[k].spec) for k in sorted(self.owned) if k in actual])
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

