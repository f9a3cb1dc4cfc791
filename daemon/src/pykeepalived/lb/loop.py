"""Health checkers feeding the load-balancing plane, inside the daemon's loop.

``LbLoop`` runs a ``check.health.HealthChecker`` for the config's virtual
servers and feeds every real-server change into ``lb.plane.LoadBalancer``;
a burst of changes costs one reconcile (scheduled with ``call_soon``).
Quorum has one source of truth, the plane (it sees drains, operator weights,
hysteresis and a weight sum of 0): its ``QuorumChange`` events, from any
reconcile (checkers, drain, set-weight, reload), run quorum_up / quorum_down,
write the ``VS`` fifo lines and send the virtual server's smtp alert here.
Real-server ``RS`` lines, notify_up / notify_down and their mails stay with
the checkers (``check.health``); both share one ``CheckNotifier``.
The backend is chosen by ``lb/select.py`` (``lb_backend``; auto: IPVS through
pyroute2 when the kernel has it, else nftables; what nftables cannot express
is refused with its file:line:col).  A config without virtual servers gets
an empty in-memory table.

Operator input (drain, weight) is persisted in ``RUNTIME_DIR/lb-overrides.json``
so a restart keeps it; an override whose real server is no longer in the
config is dropped at start and at reload ("until the config says otherwise").
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

from ..check.health import HealthChecker, fifo_paths, notifier_for
from ..check.notify import CheckNotifier
from ..config.model import Config
from ..services.runfiles import write_atomic
from ..services.smtp import Mailer
from .backend import Backend
from .desired import Selector
from .memory import MemoryBackend
from .plane import LoadBalancer, Result
from .select import backend_errors, backend_name, kernel_has_ipvs, select_backend
from .services import rs_key
from .table import norm_addr

log = logging.getLogger("pykeepalived.lb")
OVERRIDES = "lb-overrides.json"


class BackendError(Exception):
    """The data plane ``lb_backend`` selects cannot express the config (FILE:LINE:COL lines)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def backend_kind(config: Config, has_ipvs: bool) -> str:
    """ipvs | nftables (lb/select.py), or none when there is nothing to balance."""
    return backend_name(config, has_ipvs) if config.virtual_servers else "none"


def make_backend(config: Config, has_ipvs: bool) -> Backend:
    """The backend ``lb_backend`` selects; with no virtual server the kernel is left alone."""
    if not config.virtual_servers:
        backend = MemoryBackend()
        backend.name = "none (no virtual_server)"
        return backend
    chosen = select_backend(config, has_ipvs)
    if isinstance(chosen, list):
        raise BackendError(chosen)
    return chosen


def backend_problems(config: Config) -> list[str]:
    """Errors that stop a config from starting or being reloaded, before anything moves."""
    return backend_errors(config, kernel_has_ipvs()) if config.virtual_servers else []


class ControlError(Exception):
    """A request the plane cannot satisfy (unknown real server, bad weight)."""


class LbLoop:
    def __init__(self, config: Config, runtime_dir: str | Path, backend: Backend | None = None) -> None:
        self.config = config
        self.dir = Path(runtime_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.has_ipvs = kernel_has_ipvs() if backend is None and config.virtual_servers else False
        self.kind = "given" if backend is not None else backend_kind(config, self.has_ipvs)
        self.lb = LoadBalancer(config, backend or make_backend(config, self.has_ipvs), self.dir)
        self.health: HealthChecker | None = None
        self.mailer = Mailer(config.global_defs)
        self.notifier = CheckNotifier(mailer=self.mailer)  # the fifos open at start()
        self._pending: asyncio.Handle | None = None
        self.reconciles = 0
        self.last_reconcile: float | None = None
        self._load_overrides()

    # -- life ---------------------------------------------------------------
    async def start(self) -> None:
        self.notifier = notifier_for(self.config, self.mailer)
        self.health = HealthChecker(on_change=self._on_change, notifier=self.notifier)
        self.health.load(self.config)
        self._log(self.lb.start(), "start")
        log.info("load balancing %d virtual server(s) with %s", len(self.config.virtual_servers),
                 self.lb.backend.name)

    async def reload(self, config: Config) -> dict[str, object]:
        old = {(v.key, rs_key(r)) for v in self.config.virtual_servers for r in v.real_servers}
        new = {(v.key, rs_key(r)) for v in config.virtual_servers for r in v.real_servers}
        self.config = config
        self._prune_overrides()
        if config.global_defs != self.mailer.g:
            await self.mailer.close()
            self.mailer = self.notifier.mailer = Mailer(config.global_defs)
        if fifo_paths(config) != tuple(f.path for f in self.notifier.fifos):
            old, self.notifier = self.notifier, notifier_for(config, self.mailer)
            await old.close()
            if self.health is not None:
                self.health.notifier = self.notifier
        if self.health is not None:
            self.health.load(config)  # unchanged checkers (compare()) keep state and timers
        kind = self.kind if self.kind == "given" else backend_kind(config, self.has_ipvs or kernel_has_ipvs())
        if kind != self.kind:  # e.g. the first virtual_server, or lb_backend changed
            self._switch_backend(config, kind)
        else:
            self._log(self.lb.reload(config), "reload")
        return {"real_servers_added": len(new - old), "real_servers_removed": len(old - new)}

    def _switch_backend(self, config: Config, kind: str) -> None:
        """Clear our tables from the old data plane, then program the new one."""
        self.has_ipvs = self.has_ipvs or kernel_has_ipvs()
        backend = make_backend(config, self.has_ipvs)  # load_new checked backend_problems()
        old = self.lb
        self._log(old.stop(), f"stop ({old.backend.name})")
        old.close()
        self.lb = LoadBalancer(config, backend, self.dir)
        self.lb.overrides = old.overrides
        self.lb.health = old.health
        self.kind = kind
        self._log(self.lb.start(), f"start ({backend.name})")

    async def stop(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        if self.health is not None:
            await self.health.stop()
        for vs in self.config.virtual_servers:  # omega: announce lost quorum on the way out
            if vs.omega and self.lb.quorum.get(vs.key):
                self.notifier.vs_changed(vs, False, stopping=True)
        await self.notifier.close()
        await self.mailer.close()
        self._log(self.lb.stop(), "stop")
        self.lb.close()

    # -- checkers -> plane ------------------------------------------------------
    def _on_change(self, vs, rs, up: bool, weight: int) -> None:
        self.lb.set_health(vs, rs, up, weight)
        self.schedule()

    def schedule(self) -> None:
        if self._pending is None:
            self._pending = asyncio.get_running_loop().call_soon(self._reconcile)

    def _reconcile(self) -> None:
        self._pending = None
        self._log(self.lb.reconcile(), "reconcile")

    def _log(self, result: Result, what: str) -> None:
        self.reconciles += 1
        self.last_reconcile = time.time()
        for op in result.ops:
            log.info("%s: %s", what, op)
        for err in result.errors:
            log.error("%s: %s", what, err)
        if not result.events:
            return
        by_key = {v.key: v for v in self.config.virtual_servers}
        for ev in result.events:
            log.info("virtual server %s quorum %s (weight %d, quorum %d)", ev.vs, "UP" if ev.up else "DOWN",
                     ev.weight_sum, ev.quorum)
            vs = by_key.get(ev.vs)
            if vs is not None:
                self.notifier.vs_changed(vs, ev.up, ev.weight_sum)

    # -- operator input ---------------------------------------------------------
    def _selector(self, addr: str, port: int | None, vs: str | None) -> Selector:
        try:
            address = norm_addr(addr)
        except ValueError as err:
            raise ControlError(f"bad address {addr!r}") from err
        found = [(vk, r) for v in self.config.virtual_servers for r in v.real_servers
                 if (vk := v.key) and (vs is None or vs == vk)
                 and rs_key(r)[0] == address and (port is None or r.port == port)]
        if not found:
            where = f" in virtual server {vs!r}" if vs else ""
            raise ControlError(f"no real server {addr}{'' if port is None else f' port {port}'}{where}")
        return (vs, address, port)

    def drain(self, addr: str, port: int | None = None, vs: str | None = None,
              drained: bool = True) -> tuple[bool, str]:
        """(changed, message); draining a drained server changes nothing and says so."""
        sel = self._selector(addr, port, vs)
        now = sel in self.lb.overrides.drained
        label = "drained" if drained else "undrained"
        if now == drained:
            return False, f"already {label}"
        self.lb.drain(sel[1], sel[2], sel[0], drained=drained)
        self._save_overrides()
        self._reconcile()
        return True, label

    def set_weight(self, addr: str, weight: int | None, port: int | None = None,
                   vs: str | None = None) -> tuple[bool, str]:
        if weight is not None and not (isinstance(weight, int) and 0 <= weight <= 65535):
            raise ControlError("weight must be an integer 0..65535 (or null to clear)")
        sel = self._selector(addr, port, vs)
        if self.lb.overrides.weights.get(sel) == weight:
            return False, "weight unchanged"
        self.lb.set_weight(sel[1], weight, sel[2], sel[0])
        self._save_overrides()
        self._reconcile()
        return True, "weight cleared" if weight is None else f"weight {weight}"

    def active_connections(self, addr: str, port: int | None = None, vs: str | None = None) -> int:
        self._selector(addr, port, vs)
        total = 0
        for v in self.lb.status(servers={norm_addr(addr)})["virtual_servers"]:
            if vs is not None and v["virtual_server"] != vs:
                continue
            for r in v["real_servers"]:
                if r["address"] == norm_addr(addr) and (port is None or r["port"] == port):
                    total += sum(k["active"] or 0 for k in r["kernel"])
        return total

    async def wait_drain(self, addr: str, port: int | None = None, vs: str | None = None,
                         timeout: float = 60.0, interval: float = 0.5) -> tuple[bool, int]:
        """(drained, active connections): returns when they reach 0 or at the timeout."""
        end = asyncio.get_running_loop().time() + timeout
        while True:
            active = self.active_connections(addr, port, vs)
            if active == 0:
                return True, 0
            if asyncio.get_running_loop().time() >= end:
                return False, active
            await asyncio.sleep(interval)

    # -- persistence --------------------------------------------------------------
    def _load_overrides(self) -> None:
        path = self.dir / OVERRIDES
        try:
            data = json.loads(path.read_text())
            for v, a, p in data.get("drained", []):
                self.lb.overrides.drained.add((v, a, p))
            for v, a, p, w in data.get("weights", []):
                self.lb.overrides.weights[(v, a, p)] = int(w)
        except FileNotFoundError:
            return
        except (ValueError, TypeError, AttributeError) as err:
            log.error("%s unreadable (%s): ignoring it", path, err)
            return
        self._prune_overrides()
        n = len(self.lb.overrides.drained) + len(self.lb.overrides.weights)
        if n:
            log.info("restored %d operator override(s) from %s", n, path)

    def _prune_overrides(self) -> None:
        ov = self.lb.overrides
        live = {(v.key, rs_key(r)) for v in self.config.virtual_servers for r in v.real_servers}

        def exists(sel: Selector) -> bool:
            return any((sel[0] is None or sel[0] == vk) and sel[1] == rk[0] and (sel[2] is None or sel[2] == rk[1])
                       for vk, rk in live)

        before = (set(ov.drained), dict(ov.weights))
        ov.drained = {s for s in ov.drained if exists(s)}
        ov.weights = {s: w for s, w in ov.weights.items() if exists(s)}
        if (ov.drained, ov.weights) != before:
            log.info("dropped operator overrides for real servers no longer configured")
            self._save_overrides()

    def _save_overrides(self) -> None:
        ov = self.lb.overrides
        data = {"drained": sorted((list(s) for s in ov.drained), key=json.dumps),
                "weights": sorted(([*s, w] for s, w in ov.weights.items()), key=json.dumps)}
        write_atomic(self.dir / OVERRIDES, json.dumps(data, sort_keys=True) + "\n")

    # -- status -----------------------------------------------------------------
    def status(self) -> dict[str, object]:
        out = self.lb.status()
        out["checkers"] = self.health.status() if self.health is not None else []
        out["reconciles"] = self.reconciles
        return out

    def summary(self) -> tuple[int, int]:
        """(real servers up, real servers) for the systemd STATUS line."""
        views = self.lb.desired.servers if self.lb.desired is not None else []
        return sum(1 for v in views if v.up), len(views)
