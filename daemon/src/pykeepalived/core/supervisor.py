"""keepalived's process model: a parent that runs the VRRP, the checker and the BFD child.

``pykeepalived -f FILE -n`` (neither ``-P`` nor ``-C``) is this parent.  It
starts the same program as ``-P`` (VRRP) and, when the config has a
``virtual_server`` (keepalived's rule too; a reload that adds the first one
starts it), as ``-C`` (checkers + LB), and with a ``bfd_instance`` as ``--bfd``
(the BFD sessions, whose events go to the other two: bfd/events.py),
with ``--ping-fd N``: the write end of a pipe on which the child's main
loop sends one JSON line every ``ping_period(stall)`` (a fifth of the stall, at most 1 s;
``{"ready": true, "status": ...}``).

- **Start order**: with a checker child, the VRRP child starts once the
  checker child has pinged (its first pings follow the data plane's first
  apply) or after ``PLANE_WAIT`` (10 s) without one: a restarted master that
  preempts must not take its VIPs before its NAT rules exist (the Molecule
  restart steps saw SYNs to the VIP answered with RST by the new master's own
  stack in that window).  A VRRP child restarted later does not wait.
- **Children** (core/children.py): restarted after a back-off (0.1 s, doubled
  on each quick death up to 30 s; from 0.1 s again after a stable run of 10 s);
  a child whose pings stop for ``stall`` seconds (5 s; under a systemd watchdog
  at most half of it, at least 1 s) is SIGKILLed and restarted like a dead one.
  A child whose loop is blocked on long work (its start: the snapshot and the
  data plane's first full apply; a big reload) says so from a thread
  (``children.Busy``): that, or its CPU time going up meanwhile (the thread
  waits for the GIL while the work is in a long C call), counts as alive for
  at most ``BUSY_LIMIT`` (300 s) per piece of work.  A child killed before its loop ever ran is not
  restarted: the daemon stops with that error and exit status 1 (the same
  start would fail again, for ever).
- **systemd**: the parent alone talks to ``$NOTIFY_SOCKET`` (the children get
  no NOTIFY_SOCKET): READY=1 when both children have pinged once, STATUS=
  the children's status lines joined ("VI_1 MASTER, 3/3 real servers up",
  "vrrp child restarting" while one is down), WATCHDOG=1 only while every
  child is alive and reporting.  A parent that is frozen, or a child that
  cannot be brought back, therefore ends in a watchdog restart.
- **Reload** (HUP, ``reload`` on the control socket): the parent judges the
  file in a process of its own (core/reload.py ``load_new``: its loop, and so
  the children's liveness checks, never wait on a parse), counts and logs a
  refusal, and otherwise writes the accepted config to the runtime dir
  (core/snapshot.py) and asks each child to apply it (the BFD child only when
  a bfd_instance changed: its sessions' timers must not wait on a reload's
  work).  A child always starts
  and reloads from that snapshot, never from the file: one restarted after a
  refused reload runs what the pair is running.
- **Signals**: USR1, USR2 are forwarded to the children; TERM/INT are
  forwarded from the signal handler itself (services/signals.py), VRRP child
  first, and the parent waits (10 s plus the longest graceful handover, then
  SIGKILL) for them: the VRRP child's masters send priority 0 first (from
  its own handler when its loop is idle).  With the graceful handover
  (global_defs ``pykeepalived_graceful_handover``, on by default) the
  checker child gets its SIGTERM only when the VRRP child has exited: the
  data plane serves the kept VIPs until the new master has them.  A stop
  longer than the unit's TimeoutStopSec (20 s) asks systemd for more
  (EXTEND_TIMEOUT_USEC).  Each child sets
  PR_SET_PDEATHSIG(SIGKILL): a parent killed with -9 takes its children along
  (no unsupervised VRRP speaker; the VIPs it leaves are adopted at the next
  start, net/addresses.py).
- **Control socket**: the parent owns ``RUNTIME_DIR/control.sock`` and proxies
  (core/proxy.py: one JSON line to a child, its reply back, the statuses
  merged); ``reload`` is the parent's (above).
- **Pid files**: the parent's (``-p``, default ``pykeepalived.pid``),
  ``vrrp.pid``, ``checkers.pid`` and ``bfd.pid``, all under the runtime dir.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from ..compat import zip_strict
from ..compat.aio import TIMEOUT_ERRORS, Event, Lock
from ..config.model import Config
from ..services import checklog, heap
from ..services.runfiles import RunFiles
from ..services.sdnotify import SdNotify
from ..services.signals import install_stop_signals, restore_stop_signals
from . import children as kids
from . import proxy, snapshot
from .children import BUSY_LIMIT, ROLES, STALL, Child, child_socket, needed_roles, program
from .control import ControlServer
from .metrics import MetricsServer
from .reload import load_new, start_judge

log = logging.getLogger("pykeepalived.supervisor")

PLANE_WAIT = 10.0  # the VRRP child's first start waits at most this for the checker child's first ping
CHILD_RELOAD_TIMEOUT = 150.0  # a child applying a big config is watched by the stall check meanwhile
STOP_TIMEOUT = 10.0
SYSTEMD_STOP_TIMEOUT = 20.0  # the unit's TimeoutStopSec (data/pykeepalived.service)


def handover_bound(config) -> float:
    """An upper bound of the longest graceful handover: Master_Down_Interval (3 adverts plus a
    skew of at most one interval, or 1 s in VRRPv2; down_timer_adverts adverts) of the slowest instance; 0 when it is off."""
    if not config.global_defs.pykeepalived_graceful_handover:
        return 0.0
    adverts = config.global_defs.vrrp_down_timer_adverts
    return max(((i.down_timer_adverts or adverts) * i.advert_int + max(1.0, i.advert_int)
                for i in config.vrrp_instances.values()), default=0.0)


class Supervisor:
    """``config`` is the judged content of ``config_path``: the children start from it."""

    def __init__(self, config: Config, config_path: str, runtime_dir: str, pidfile: str | None = None,
                 detail: bool = False, *, stall: float | None = None, sd: SdNotify | None = None,
                 roles: tuple[str, ...] | None = None, busy_limit: float = BUSY_LIMIT) -> None:
        self.config, self.config_path, self.detail = config, config_path, detail
        self.busy_limit = busy_limit
        self.failed: str | None = None  # a child that could not start: the daemon stops with it
        metrics_listen = config.global_defs.metrics_listen
        roles = needed_roles(config) if roles is None else roles
        self.handover = handover_bound(config)  # the VRRP child may take that long to stop
        self.files = RunFiles(runtime_dir, pidfile)
        self.sd = sd if sd is not None else SdNotify()
        wd = self.sd.watchdog_usec / 1e6
        self.stall = stall if stall is not None else (min(STALL, max(1.0, wd / 2)) if wd else STALL)
        self.children = {role: Child(role) for role in ROLES if role in roles}  # ROLES' order: the stop's
        self._keepers: list[asyncio.Task] = []
        self._forwarded = False  # SIGTERM passed on to the children (forward_stop)
        self.control = ControlServer(self.files.dir, self.handle)
        self.metrics = MetricsServer(metrics_listen, self.status) if metrics_listen else None
        self._stop = Event()
        self._ready_sent = False
        self._reload_lock = Lock()
        self._tasks: set[asyncio.Task] = set()
        self.started = time.time()
        self.reloads = 0
        self.reload_failures = 0
        self.last_reload: dict[str, object] | None = None

    # -- children ---------------------------------------------------------------
    def argv(self, role: str, ping_fd: int) -> list[str]:
        flag, pid_name = ROLES[role]
        return [*program(), "-f", self.config_path, "-n", "-l", flag, "--runtime-dir", str(self.files.dir),
                "-p", str(self.files.dir / pid_name), "--ping-fd", str(ping_fd),
                "--ping-period", f"{kids.ping_period(self.stall):g}", *(["-D"] if self.detail else [])]

    async def _data_plane_first(self) -> None:
        """Until the checker child has pinged (no checker child: at once), a stop, or PLANE_WAIT."""
        check = self.children.get("check")
        if check is None or check.last_ping is not None:
            return
        log.info("vrrp child waits for the checker child's data plane (at most %.0f s)", PLANE_WAIT)
        end = time.monotonic() + PLANE_WAIT
        while check.last_ping is None and not self._stop.is_set() and time.monotonic() < end:
            await asyncio.sleep(0.05)  # the ping reader sets last_ping; a poll keeps that file simple
        if check.last_ping is None and not self._stop.is_set():
            log.error("checker child not reporting after %.0f s: starting the vrrp child anyway", PLANE_WAIT)

    async def _keep(self, child: Child) -> None:
        if child.role == "vrrp":
            await self._data_plane_first()
        await kids.keep(child, self.argv, self._stop, lambda: self._forwarded, self._gave_up)

    def _gave_up(self, child: Child) -> None:
        """A child's start cannot finish: stop everything, once, with that error (exit status 1)."""
        self.failed = f"{child.role} child could not start: {child.gave_up}"
        log.error("%s; stopping", self.failed)
        self.forward_stop()
        self._stop.set()

    async def _monitor(self) -> None:
        """Stalled or never-started children are killed (then restarted); sd_notify from here."""
        period = min(self.sd.watchdog_interval() or 0.5, 0.5)
        while not self._stop.is_set():
            now = time.monotonic()
            kids.sample_progress(self.children, now)
            kids.kill_stalled(self.children, now, self.stall, self.busy_limit)
            healthy = all(c.reporting(now, self.stall) for c in self.children.values())
            if healthy and not self._ready_sent:
                self._ready_sent = True
                self.sd.ready(self.status_line())
                log.info("children up: %s", ", ".join(self.children))
            if healthy:
                self.sd.watchdog()
            self.sd.status(self.status_line())
            await asyncio.sleep(period)

    def status_line(self) -> str:
        return kids.status_line(self.children)

    def forward(self, sig: signal.Signals) -> None:
        """USR1/USR2 to the children whose loop runs (has pinged): a child still starting has
        no handler yet, and the default action of USR1 is to terminate it."""
        for child in self.children.values():
            if child.alive and child.last_ping is not None:
                child.proc.send_signal(sig)
            elif child.alive:
                log.info("%s child still starting: %s not forwarded", child.role, sig.name)

    # -- control socket: a proxy (core/proxy.py) -----------------------------------
    async def ask(self, role: str, req: dict, timeout: float = 15.0) -> object:
        return await proxy.ask(self.children, self.files.dir, role, req, timeout)

    async def handle(self, req: dict) -> object:
        cmd = req["cmd"]
        if cmd == "status":
            return await self.status()
        if cmd == "reload":
            return await self.reload()
        role, timeout = proxy.route(req)
        return await self.ask(role, req, timeout)

    def children_status(self) -> dict[str, dict]:
        return kids.children_status(self.children, time.monotonic(), self.stall)

    async def status(self) -> dict[str, object]:
        roles = list(self.children)
        got = await asyncio.gather(*(self.ask(r, {"cmd": "status"}) for r in roles), return_exceptions=True)
        return proxy.merged_status(dict(zip_strict(roles, got)), config_path=self.config_path,
                                   started=self.started, reloads=self.reloads,
                                   reload_failures=self.reload_failures, last_reload=self.last_reload,
                                   children=self.children_status())

    def on_hup(self) -> None:
        log.info("SIGHUP received: reloading %s", self.config_path)
        task = asyncio.get_running_loop().create_task(self.reload())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reload(self) -> dict[str, object]:
        """Judge the file off this loop; a refusal changes nothing (and is counted), else the
        snapshot is replaced, a child the config now needs is started and the others apply it."""
        async with self._reload_lock:
            if self._stop.is_set():
                return {"reloaded": False, "errors": ["daemon is stopping"]}
            self.sd.reloading()
            try:
                began = time.monotonic()
                judged = await load_new(self.config_path)
                log.info("reload: %s judged in %.2f s", self.config_path, time.monotonic() - began)
                checklog.record(self.config.global_defs.reload_check_config, judged.errors)
                if judged.config is None:
                    result = self._refused(judged.errors)
                else:
                    result = await self._apply(judged.config, judged.snapshot)
            finally:
                self.sd.ready(self.status_line())
            self.last_reload = {"time": time.time(), **result}
            return result

    def _refused(self, errors: list[str]) -> dict[str, object]:
        self.reload_failures += 1
        for err in errors:
            log.error("%s", err)
        log.error("reload: %s rejected (%d error%s); still running the previous configuration",
                  self.config_path, len(errors), "s" if len(errors) != 1 else "")
        return {"reloaded": False, "errors": errors}

    async def _apply(self, config: Config, encoded: bytes | None = None) -> dict[str, object]:
        """``encoded``: the snapshot's bytes as the judge made them (its new blobs and the index written)."""
        snapshot.save_encoded(self.files.dir, encoded if encoded is not None else snapshot.encode(config))
        same_bfd = config.bfd_instances == self.config.bfd_instances
        self.config, self.handover = config, handover_bound(config)
        started = self.start_needed(config)
        # a new or restarting child starts from the snapshot: only running ones are asked; the BFD
        # child only when a bfd_instance changed (a reload's work would stall its sessions' timers)
        roles = [r for r, c in self.children.items() if r not in started and c.alive
                 and not (r == "bfd" and same_bfd)]
        results = await asyncio.gather(*(self.ask(r, {"cmd": "reload"}, CHILD_RELOAD_TIMEOUT) for r in roles),
                                       return_exceptions=True)
        out: dict[str, object] = {"reloaded": True, "errors": []}
        for role, res in zip_strict(roles, results):
            if isinstance(res, Exception):  # a restarting child comes back with the snapshot anyway
                out["reloaded"] = False
                out["errors"].append(f"{role}: {res}")
                continue
            out["reloaded"] = out["reloaded"] and bool(res.get("reloaded"))
            out["errors"] = out["errors"] or res.get("errors", [])
            key = {"vrrp": "vrrp", "check": "lb", "bfd": "bfd"}[role]
            if key in res:
                out[key] = res[key]
        if out["reloaded"]:
            self.reloads += 1
            log.info("reload done: %s", json.dumps({k: v for k, v in out.items() if k != "errors"}, sort_keys=True))
        else:
            self.reload_failures += 1
            log.error("reload: not applied everywhere: %s", "; ".join(map(str, out["errors"])))
        return out

    def start_needed(self, config: Config) -> list[str]:
        """Start the children ``config`` needs and we do not run; their roles."""
        if self._stop.is_set():
            return []
        new = [r for r in needed_roles(config) if r not in self.children]
        for role in new:
            log.info("the configuration now needs the %s child: starting it", role)
            self.children[role] = Child(role)
        self.children = {r: self.children[r] for r in ROLES if r in self.children}  # the stop's order
        for role in new:
            self._keepers.append(asyncio.get_running_loop().create_task(self._keep(self.children[role])))
        return new

    # -- life -----------------------------------------------------------------------
    def request_stop(self, name: str) -> None:
        self.forward_stop()
        log.info("%s received: stopping the children", name)
        self._stop.set()

    def forward_stop(self) -> None:
        """SIGTERM to the children, once, VRRP first (its priority-0 advert starts the backup's
        Skew_Time).  Plain ``os.kill``: it also runs inside the signal handler (services/signals.py).

        Then this process gives up the CPU: a child woken by our signal often waits on our
        CPU's run queue, and our own stop is bookkeeping that can follow its priority-0 advert
        (the failover bench measured ~0.5 ms of waiting without the yield)."""
        if self._forwarded:
            return
        self._forwarded = True
        for child in self.children.values():
            if child.alive and (child.role == "vrrp" or not self.handover):  # see _stop_children
                os.kill(child.proc.pid, signal.SIGTERM)
        os.sched_yield()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        install_stop_signals(loop, self.request_stop, self.forward_stop, urgent_is_reentrant=True)
        loop.add_signal_handler(signal.SIGHUP, self.on_hup)
        for sig in (signal.SIGUSR1, signal.SIGUSR2):
            loop.add_signal_handler(sig, self.forward, sig)
        snapshot.save(self.files.dir, self.config)  # what the children start from
        await self.control.start()
        if self.metrics is not None:
            await self.metrics.start()
        self._keepers = [loop.create_task(self._keep(c)) for c in self.children.values()]
        monitor = loop.create_task(self._monitor())
        heap.settle()
        start_judge(self.config_path)  # forked now, its copy of our memory made before a reload waits on it
        await self._stop.wait()  # request_stop has forwarded SIGTERM already
        self.sd.stopping()
        monitor.cancel()
        for task in list(self._tasks):  # a reload being judged: its judge is killed with it
            task.cancel()
        await self.control.stop()
        if self.metrics is not None:
            await self.metrics.stop()
        await self._stop_children()
        await asyncio.gather(*self._keepers, monitor, *self._tasks, *(c.reader for c in self.children.values() if c.reader),
                             return_exceptions=True)
        for role, (_, pid_name) in ROLES.items():
            (self.files.dir / pid_name).unlink(missing_ok=True)
            child_socket(self.files.dir, role).unlink(missing_ok=True)
        snapshot.remove(self.files.dir)
        self.sd.close()
        restore_stop_signals()  # the handler schedules on this loop, which is about to close
        log.info("stopped")
        return 1 if self.failed else 0

    async def _stop_children(self) -> None:
        """Wait for the children in order, VRRP first; with the graceful handover the checker
        child's SIGTERM waits for the VRRP child's exit (its masters keep their VIPs until the
        new master speaks, and the data plane must serve them until then)."""
        budget = STOP_TIMEOUT + self.handover
        if budget > SYSTEMD_STOP_TIMEOUT:
            self.sd.notify(f"EXTEND_TIMEOUT_USEC={int(budget * 1e6)}")
        end = time.monotonic() + budget
        for child in self.children.values():  # "vrrp" comes first (ROLES)
            if child.alive and child.role != "vrrp" and self.handover:
                os.kill(child.proc.pid, signal.SIGTERM)
            if child.alive:
                try:
                    await asyncio.wait_for(child.proc.wait(), max(end - time.monotonic(), 0.1))
                except TIMEOUT_ERRORS:
                    log.error("%s child (pid %d) did not stop: SIGKILL", child.role, child.proc.pid)
                    child.proc.kill()
                    await child.proc.wait()


def run_supervisor(config_path: str, runtime_dir: str, pidfile: str | None, detail: bool = False) -> int:
    from ..services import procattrs, startstop  # noqa: PLC0415
    from ..services.logs import setup_logging  # noqa: PLC0415
    from ..services.netns import join_for  # noqa: PLC0415
    from .judge import load_for_start  # noqa: PLC0415

    setup_logging(detail, "parent")
    config = load_for_start(config_path)  # the data plane is the checker child's to judge
    if config is None:
        return 1
    try:  # keepalived's net_namespace: before any socket; the children inherit it
        runtime_dir = join_for(config.net_namespace, runtime_dir)
    except OSError as err:
        print(f"pykeepalived: {err.strerror}, not starting", file=sys.stderr)
        return 1
    procattrs.apply_start(config.global_defs, "parent", umask=True)  # before it writes a file
    sup = Supervisor(config, str(Path(config_path)), runtime_dir, pidfile, detail)
    sup.files.write_pid()
    startstop.run("startup", config.global_defs)  # before any child, as keepalived's parent
    try:
        return asyncio.run(sup.run())
    finally:
        startstop.run("shutdown", sup.config.global_defs)  # the children are gone; a reload's script
        sup.files.remove_pid()

