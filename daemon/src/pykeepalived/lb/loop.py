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
The backend is chosen by ``lb/select.py`` (``lb_backend``; auto: IPVS over
generic netlink (lb/ipvs.py) when the kernel has it, else nftables; what nftables cannot express
is refused with its file:line:col).  A config without virtual servers gets
an empty in-memory table.

Operator input (drain, weight) has one home, ``RUNTIME_DIR/lb-overrides.json``
(lb/overrides.py), so reloads and restarts keep it; an override whose real
server is no longer in the config is dropped at start and at reload ("until the
config says otherwise"). ``real_server`` reads and restates one real server
(lb/server.py: its view, connection counts read for that server only);
``wait_drain`` and ``wait_up`` poll that view, not the whole status.
"""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from ..check.bfd import EventSource
from ..check.health import HealthChecker, fifo_paths, notifier_for
from ..check.notify import CheckNotifier
from ..config.model import Config
from ..net.ipvs_config import TimeoutControl, Timeouts
from ..net.rtnl import host_addresses
from ..services.smtp import Mailer
from .backend import Backend
from .desired import compute
from .memory import MemoryBackend
from .overrides import KEEP, OVERRIDES, OverrideStore, restate
from .plane import LoadBalancer, Result
from .select import backend_errors, backend_name, kernel_has_ipvs, select_backend
from .server import ControlError, find, live, view
from .services import rs_key

log = logging.getLogger("pykeepalived.lb")
__all__ = ["OVERRIDES", "ControlError", "LbLoop"]


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
    """Errors that stop a config from starting or being reloaded, before anything moves.

    The kernel is asked for IPVS only when the file leaves the choice to it (the probe took
    ~0.5 s of each reload's judgment at load; ``lb_backend nftables`` does not depend on it)."""
    if not config.virtual_servers:
        return []
    return backend_errors(config, config.global_defs.lb_backend != "nftables" and kernel_has_ipvs())


class LbLoop:
    def __init__(self, config: Config, runtime_dir: str | Path, backend: Backend | None = None,
                 bfd: EventSource | None = None) -> None:
        self.config = config
        self.bfd = bfd  # BFD_CHECK's session events (check/bfd.py)
        self.dir = Path(runtime_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.has_ipvs = kernel_has_ipvs() if backend is None and config.virtual_servers else False
        self.kind = "given" if backend is not None else backend_kind(config, self.has_ipvs)
        self.lb = LoadBalancer(config, backend or make_backend(config, self.has_ipvs), self.dir)
        self.store = OverrideStore(self.dir)
        self.timeouts = TimeoutControl()  # lvs_timeouts (net/ipvs_config.py)
        self.lb.overrides = self.store.ov  # the plane reads the store's image, never a copy
        self.health: HealthChecker | None = None
        self.mailer = Mailer(config.global_defs, "checker")
        self.notifier = CheckNotifier(mailer=self.mailer)  # the fifos open at start()
        self._pending: asyncio.Handle | None = None
        self.reconciles = 0
        self.last_reconcile: float | None = None
        self._load_overrides()

    # -- life ---------------------------------------------------------------
    async def start(self) -> None:
        self.notifier = notifier_for(self.config, self.mailer)
        await self.notifier.start_fifo_scripts()  # lvs_notify_fifo_script
        self.health = HealthChecker(on_change=self._on_change, notifier=self.notifier, bfd=self.bfd)
        self.health.load(self.config)
        self._set_timeouts()
        self._log(self.lb.start(), "start")
        log.info("load balancing %d virtual server(s) with %s", len(self.config.virtual_servers),
                 self.lb.backend.name)

    async def reload(self, config: Config) -> dict[str, object]:
        # blocks handed over unchanged (core/snapshot.py: the same objects) add and remove nothing;
        # the others are found by set arithmetic on ids (C speed), only they are walked
        was = dict(zip(map(id, self.config.virtual_servers), self.config.virtual_servers))
        now = dict(zip(map(id, config.virtual_servers), config.virtual_servers))
        old = {(v.key, rs_key(r)) for v in map(was.__getitem__, was.keys() - now.keys()) for r in v.real_servers}
        new = {(v.key, rs_key(r)) for v in map(now.__getitem__, now.keys() - was.keys()) for r in v.real_servers}
        self.config = config
        self._prune_overrides()
        if config.global_defs != self.mailer.g:
            await self.mailer.close()
            self.mailer = self.notifier.mailer = Mailer(config.global_defs, "checker")
        if fifo_paths(config) != tuple(f.path for f in self.notifier.fifos):
            old, self.notifier = self.notifier, notifier_for(config, self.mailer)
            await old.close()
            await self.notifier.start_fifo_scripts()
            if self.health is not None:
                self.health.notifier = self.notifier
        if self.health is not None:
            self.health.load(config)  # unchanged checkers (compare()) keep state and timers
        self._set_timeouts()
        if self.kind != "given" and not self.has_ipvs and config.global_defs.lb_backend != "nftables":
            self.has_ipvs = kernel_has_ipvs()  # asked only when the file leaves the choice to the kernel
        kind = self.kind if self.kind == "given" else backend_kind(config, self.has_ipvs)
        if kind != self.kind:  # e.g. the first virtual_server, or lb_backend changed
            self._switch_backend(config, kind)
        else:
            self._log(self.lb.reload(config), "reload")
        return {"real_servers_added": len(new - old), "real_servers_removed": len(old - new)}

    def _set_timeouts(self) -> None:
        """global_defs lvs_timeouts, on the IPVS plane (select.py refuses them on nftables);
        dropped from the config, the kernel's first values come back (keepalived)."""
        if self.lb.backend.name != "ipvs":
            return
        t = self.config.global_defs.lvs_timeouts
        error = self.timeouts.apply(None if t is None else Timeouts(t.tcp, t.tcpfin, t.udp))
        if error is not None:
            loc = self.config.global_defs.locs.get("lvs_timeouts", "lvs_timeouts")
            log.error("%s: error: lvs_timeouts: %s (running without it)", loc, error)

    def _switch_backend(self, config: Config, kind: str) -> None:
        """Clear our tables from the old data plane, then program the new one."""
        self.has_ipvs = self.has_ipvs or kernel_has_ipvs()
        backend = make_backend(config, self.has_ipvs)  # load_new checked backend_problems()
        old = self.lb
        self._log(old.stop(), f"stop ({old.backend.name})")
        old.close()
        self.lb = LoadBalancer(config, backend, self.dir)
        self.lb.overrides = self.store.ov
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
    def drain(self, addr: str, port: int | None = None, vs: str | None = None,
              drained: bool = True) -> tuple[bool, str]:
        """(changed, message); draining a drained server changes nothing and says so."""
        changed, _ = self.real_server(addr, port, vs, drained=drained)
        label = "drained" if drained else "undrained"
        return changed, label if changed else f"already {label}"

    def set_weight(self, addr: str, weight: int | None, port: int | None = None,
                   vs: str | None = None) -> tuple[bool, str]:
        changed, _ = self.real_server(addr, port, vs, weight=weight)
        if not changed:
            return False, "weight unchanged"
        return True, "weight cleared" if weight is None else f"weight {weight}"

    def real_server(self, addr: str, port: int | None = None, vs: str | None = None, *,
                    drained: bool | None = None, weight: object = KEEP,
                    dry_run: bool = False) -> tuple[bool, list[dict]]:
        """Restate one real server (every virtual server that has it, or ``vs``): drained or
        not (None: as it is), operator weight (None clears, KEEP as it is). Returns (changed,
        its view per virtual server); ``dry_run`` reports what would change, changing nothing."""
        if weight is not KEEP and weight is not None and (
                isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 65535):
            raise ControlError("weight must be an integer 0..65535 (or null to clear)")
        entries = find(self.config, addr, port, vs)
        old = self.store.ov
        new = restate(old, live(self.config), [e.key for e in entries], drained=drained, weight=weight)
        changed = (new.drained, new.weights) != (old.drained, old.weights)
        if changed and not dry_run:
            self.store.commit(new)
            self._reconcile()
        shown = new if dry_run else self.store.ov
        return changed, self.view(entries, shown)

    def view(self, entries, ov=None) -> list[dict]:
        desired = self.lb.desired
        if desired is None or ov is not None and ov is not self.store.ov:
            desired = compute(self.config, self.lb.health, ov or self.store.ov, self.lb.quorum)
        return view(entries, desired, ov or self.store.ov, self.lb.backend, self._host_addresses())

    def _host_addresses(self) -> set[str] | None:
        """The addresses this host holds (server.view: connections to others are not its own)."""
        if isinstance(self.lb.backend, MemoryBackend):  # its counts are no kernel's connections
            return None
        try:
            return host_addresses()
        except OSError as err:
            log.warning("cannot list this host's addresses (%s): every connection counts as active", err)
            return None

    def server_view(self, addr: str, port: int | None = None, vs: str | None = None) -> list[dict]:
        return self.view(find(self.config, addr, port, vs))

    def active_connections(self, addr: str, port: int | None = None, vs: str | None = None) -> int:
        return sum(v["active"] for v in self.server_view(addr, port, vs))

    async def wait_drain(self, addr: str, port: int | None = None, vs: str | None = None,
                         timeout: float = 60.0, interval: float = 0.5) -> tuple[bool, int]:
        """(drained, active connections): returns when they reach 0 or at the timeout."""
        views = await self._wait(addr, port, vs, lambda v: v["active"] == 0, timeout, interval)
        active = sum(v["active"] for v in views)
        return active == 0, active

    async def wait_up(self, addr: str, port: int | None = None, vs: str | None = None,
                      timeout: float = 60.0, interval: float = 0.2) -> tuple[bool, list[dict]]:
        """(every entry up, views): returns when the checkers say up or at the timeout."""
        views = await self._wait(addr, port, vs, lambda v: bool(v["up"]), timeout, interval)
        return all(v["up"] for v in views), views

    async def _wait(self, addr, port, vs, done, timeout: float, interval: float) -> list[dict]:
        end = asyncio.get_running_loop().time() + timeout
        entries = find(self.config, addr, port, vs)
        while True:
            views = self.view(entries)
            if all(done(v) for v in views) or asyncio.get_running_loop().time() >= end:
                return views
            await asyncio.sleep(interval)

    # -- persistence --------------------------------------------------------------
    def _load_overrides(self) -> None:
        self.store.load()
        self._prune_overrides()
        if self.store.count():
            log.info("restored %d operator override(s) from %s", self.store.count(), self.store.path)

    def _prune_overrides(self) -> None:
        if self.store.count() and self.store.prune(live(self.config)):
            log.info("dropped operator overrides for real servers no longer configured")

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
