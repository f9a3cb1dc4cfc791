"""keepalived's process model: a parent that runs the VRRP child and the checker child.

``pykeepalived -f FILE -n`` (neither ``-P`` nor ``-C``) is this parent.  It
starts the same program as ``-P`` (VRRP) and, when the config has a
``virtual_server`` (keepalived's rule too; a reload that adds the first one
starts it), as ``-C`` (checkers + LB),
with ``--ping-fd N``: the write end of a pipe on which the child's main
loop sends one JSON line every 0.25 s (``{"ready": true, "status": ...}``).

- **Restarts**: a child that exits (or is killed) is started again after a
  back-off: 0.1 s, doubled on each quick death up to 30 s; a child that ran
  for ``STABLE`` (10 s) starts again from 0.1 s.
- **Stalls**: a child whose loop stops pinging for ``stall`` seconds (5 s;
  under a systemd watchdog at most half of it, at least 1 s) is SIGKILLed
  (by its pid) and restarted like a dead one.  A child that sends nothing
  for ``START_TIMEOUT`` after it was started is treated the same.
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
  (core/snapshot.py) and asks each child to apply it.  A child always starts
  and reloads from that snapshot, never from the file: one restarted after a
  refused reload runs what the pair is running.
- **Signals**: USR1, USR2 are forwarded to the children; TERM/INT are
  forwarded from the signal handler itself (core/signals.py), VRRP child
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
  (one JSON line to a child, its reply back): ``status`` merges both
  children's replies (plus ``children``: pid, restarts, up; the reload counters
  are the parent's), ``reload`` is the parent's (above), resign/unresign go
  to the VRRP child, drain/undrain/set-weight/wait-drain to the checker child.
  The children
  listen on ``control.vrrp.sock`` / ``control.check.sock`` (0600, root only).
- **Pid files**: the parent's (``-p``, default ``pykeepalived.pid``),
  ``vrrp.pid`` and ``checkers.pid``, all under the runtime dir.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..compat import zip_strict
from ..compat.aio import TIMEOUT_ERRORS, Event, Lock
from ..config.model import Config
from ..services import heap
from ..services.runfiles import RunFiles
from ..services.sdnotify import SdNotify
from ..services.signals import install_stop_signals, restore_stop_signals
from . import snapshot
from .control import LINE_LIMIT, VERSION, ControlServer, RequestError
from .metrics import MetricsServer
from .reload import load_new

log = logging.getLogger("pykeepalived.supervisor")

INITIAL_BACKOFF = 0.1
MAX_BACKOFF = 30.0
STABLE = 10.0
STALL = 5.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
PING_PERIOD = 0.25
PARENT_ENV = "PYKEEPALIVED_PARENT_PID"
ROLES = {"vrrp": ("-P", "vrrp.pid"), "check": ("-C", "checkers.pid")}


def needed_roles(config) -> tuple[str, ...]:
    """The children a config needs: VRRP always; the checker child only with a virtual_server
    (keepalived starts its checker process on the same rule).  A reload that adds the first
    virtual_server starts it; one that removes the last leaves it idle."""
    return ("vrrp", "check") if config.virtual_servers else ("vrrp",)


def handover_bound(config) -> float:
    """An upper bound of the longest graceful handover: Master_Down_Interval (3 adverts plus a
    skew of at most one interval, or 1 s in VRRPv2) of the slowest instance; 0 when it is off."""
    if not config.global_defs.pykeepalived_graceful_handover:
        return 0.0
    return max((3 * i.advert_int + max(1.0, i.advert_int) for i in config.vrrp_instances.values()), default=0.0)


SYSTEMD_STOP_TIMEOUT = 20.0  # the unit's TimeoutStopSec (data/pykeepalived.service)


def next_backoff(current: float, ran: float) -> float:
    """The wait before the next start: back to the start after a stable run, else as doubled so far."""
    return INITIAL_BACKOFF if ran >= STABLE else min(current, MAX_BACKOFF)


def child_socket(runtime_dir: str | Path, role: str) -> Path:
    return Path(runtime_dir) / f"control.{role}.sock"


def program() -> list[str]:
    """The same program: the ``pykeepalived`` script that runs us, else ``python -m pykeepalived.cli``."""
    argv0 = sys.argv[0]
    if os.path.basename(argv0) == "pykeepalived" and os.access(argv0, os.X_OK):
        return [os.path.abspath(argv0)]
    return [sys.executable, "-m", "pykeepalived.cli"]


@dataclass
class Child:
    role: str
    proc: asyncio.subprocess.Process | None = None
    started: float = 0.0
    last_ping: float | None = None
    status: str = ""
    restarts: int = 0
    backoff: float = INITIAL_BACKOFF
    last_exit: str | None = None
    reader: asyncio.Task | None = None
    history: list[float] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def reporting(self, now: float, stall: float) -> bool:
        return self.alive and self.last_ping is not None and now - self.last_ping <= stall


class Supervisor:
    """``config`` is the judged content of ``config_path``: the children start from it."""

    def __init__(self, config: Config, config_path: str, runtime_dir: str, pidfile: str | None = None,
                 detail: bool = False, *, stall: float | None = None, sd: SdNotify | None = None,
                 roles: tuple[str, ...] | None = None) -> None:
        self.config, self.config_path, self.detail = config, config_path, detail
        metrics_listen = config.global_defs.metrics_listen
        roles = needed_roles(config) if roles is None else roles
        self.handover = handover_bound(config)  # the VRRP child may take that long to stop
        self.files = RunFiles(runtime_dir, pidfile)
        self.sd = sd if sd is not None else SdNotify()
        wd = self.sd.watchdog_usec / 1e6
        self.stall = stall if stall is not None else (min(STALL, max(1.0, wd / 2)) if wd else STALL)
        self.children = {role: Child(role) for role in roles}
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
                "-p", str(self.files.dir / pid_name), "--ping-fd", str(ping_fd), *(["-D"] if self.detail else [])]

    async def spawn(self, child: Child) -> None:
        rfd, wfd = os.pipe()
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
        env[PARENT_ENV] = str(os.getpid())
        try:
            child.proc = await asyncio.create_subprocess_exec(*self.argv(child.role, wfd), pass_fds=(wfd,), env=env,
                                                              stdin=asyncio.subprocess.DEVNULL)
        except OSError as err:
            os.close(rfd)
            log.error("cannot start the %s child: %s", child.role, err)
            child.proc = None
            return
        finally:
            os.close(wfd)
        child.started, child.last_ping, child.status = time.monotonic(), None, ""
        log.info("%s child started, pid %d", child.role, child.proc.pid)
        child.reader = asyncio.get_running_loop().create_task(self._read_pings(child, rfd))

    async def _read_pings(self, child: Child, rfd: int) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=LINE_LIMIT)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                    os.fdopen(rfd, "rb", buffering=0))
        try:
            while line := await reader.readline():
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                child.last_ping = time.monotonic()
                child.status = str(msg.get("status", ""))
        except (ValueError, ConnectionError):
            pass
        finally:
            transport.close()

    async def _keep(self, child: Child) -> None:
        """Run one child for ever: start, wait for its exit, back off, start again."""
        while not self._stop.is_set():
            await self.spawn(child)
            if child.proc is not None:
                rc = await child.proc.wait()
                ran = time.monotonic() - child.started
                child.last_exit = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit {rc}"
                if self._stop.is_set() or self._forwarded:  # stopping: SIGTERM went out already
                    break
                child.backoff = next_backoff(child.backoff, ran)
                log.error("%s child (pid %d) died (%s) after %.1f s: restarting in %.1f s", child.role,
                          child.proc.pid, child.last_exit, ran, child.backoff)
            delay = child.backoff
            child.backoff = min(child.backoff * 2, MAX_BACKOFF)  # the next quick death waits longer
            child.restarts += 1
            child.history.append(time.time())
            with contextlib.suppress(*TIMEOUT_ERRORS):
                await asyncio.wait_for(self._stop.wait(), delay)

    async def _monitor(self) -> None:
        """Stalled or never-started children are killed (then restarted); sd_notify from here."""
        period = min(self.sd.watchdog_interval() or 0.5, 0.5)
        while not self._stop.is_set():
            now = time.monotonic()
            for child in self.children.values():
                if not child.alive:
                    continue
                silent = now - (child.last_ping if child.last_ping is not None else child.started)
                limit = self.stall if child.last_ping is not None else START_TIMEOUT
                if silent > limit:
                    log.error("%s child (pid %d) %s for %.1f s: killing it", child.role, child.proc.pid,
                              "stalled" if child.last_ping is not None else "never reported", silent)
                    child.proc.kill()  # our own child, by its pid
                    child.last_ping, child.last_exit = None, "stalled"
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
        parts = []
        for child in self.children.values():
            if not child.alive or child.last_ping is None:
                parts.append(f"{child.role} child {'restarting' if child.last_exit else 'starting'}")
            elif child.status and not child.status.startswith("running (nothing"):
                parts.append(child.status)
        return ", ".join(parts) or "running (nothing configured)"

    def forward(self, sig: signal.Signals) -> None:
        for child in self.children.values():
            if child.alive:
                child.proc.send_signal(sig)

    # -- control socket: a proxy ---------------------------------------------------
    async def ask(self, role: str, req: dict, timeout: float = 15.0) -> object:
        if role not in self.children:
            raise RequestError(f"no {role} child: the configuration has no virtual_server")
        if not self.children[role].alive:
            raise RequestError(f"the {role} child is not running (restarting)")
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(child_socket(self.files.dir, role)), limit=1 << 24), timeout)
        except (OSError, *TIMEOUT_ERRORS) as err:
            raise RequestError(f"the {role} child does not answer: {err}") from None
        try:
            writer.write(json.dumps({**req, "v": VERSION}).encode() + b"\n")
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), timeout)
        except (OSError, *TIMEOUT_ERRORS) as err:
            raise RequestError(f"the {role} child does not answer: {err}") from None
        finally:
            writer.close()
        if not line:
            raise RequestError(f"the {role} child closed the connection")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise RequestError(str(reply.get("error")))
        return reply.get("result")

    async def handle(self, req: dict) -> object:
        cmd = req["cmd"]
        if cmd == "status":
            return await self.status()
        if cmd == "reload":
            return await self.reload()
        if cmd in ("resign", "unresign"):
            return await self.ask("vrrp", req)
        timeout = float(req.get("timeout") or 0) + 15.0 if isinstance(req.get("timeout"), (int, float)) else 15.0
        return await self.ask("check", req, timeout)

    def children_status(self) -> dict[str, dict]:
        now = time.monotonic()
        return {c.role: {"pid": c.proc.pid if c.alive else None, "up": c.reporting(now, self.stall),
                         "restarts": c.restarts, "last_exit": c.last_exit} for c in self.children.values()}

    async def status(self) -> dict[str, object]:
        roles = list(self.children)
        got = await asyncio.gather(*(self.ask(r, {"cmd": "status"}) for r in roles), return_exceptions=True)
        answers = {r: g for r, g in zip_strict(roles, got) if isinstance(g, dict)}
        vrrp, check = answers.get("vrrp", {}), answers.get("check", {})
        return {"pid": os.getpid(), "version": __version__, "config": self.config_path, "started": self.started,
                "dumped": time.time(), "subsystems": list(answers),
                "reloads": self.reloads, "reload_failures": self.reload_failures,
                "last_reload": self.last_reload, "vrrp": vrrp.get("vrrp"), "lb": check.get("lb"),
                "children": self.children_status()}

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
                judged = await load_new(self.config_path)
                if judged.config is None:
                    result = self._refused(judged.errors)
                else:
                    result = await self._apply(judged.config)
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

    async def _apply(self, config: Config) -> dict[str, object]:
        snapshot.save(self.files.dir, config)
        self.config, self.handover = config, handover_bound(config)
        started = self.start_needed(config)
        # a new or restarting child starts from the snapshot: only running ones are asked
        roles = [r for r, c in self.children.items() if r not in started and c.alive]
        results = await asyncio.gather(*(self.ask(r, {"cmd": "reload"}) for r in roles), return_exceptions=True)
        out: dict[str, object] = {"reloaded": True, "errors": []}
        for role, res in zip_strict(roles, results):
            if isinstance(res, Exception):  # a restarting child comes back with the snapshot anyway
                out["reloaded"] = False
                out["errors"].append(f"{role}: {res}")
                continue
            out["reloaded"] = out["reloaded"] and bool(res.get("reloaded"))
            out["errors"] = out["errors"] or res.get("errors", [])
            key = "vrrp" if role == "vrrp" else "lb"
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
            self._keepers.append(asyncio.get_running_loop().create_task(self._keep(self.children[role])))
        return new

    # -- life -----------------------------------------------------------------------
    def request_stop(self, name: str) -> None:
        self.forward_stop()
        log.info("%s received: stopping the children", name)
        self._stop.set()

    def forward_stop(self) -> None:
        """SIGTERM to the children, once, VRRP first (its priority-0 advert starts the backup's
        Skew_Time).  Plain ``os.kill``: it also runs inside the signal handler (core/signals.py).

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
        return 0

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
    from ..services.logs import setup_logging  # noqa: PLC0415
    from .judge import load_for_start  # noqa: PLC0415

    setup_logging(detail, "parent")
    config = load_for_start(config_path)  # the data plane is the checker child's to judge
    if config is None:
        return 1
    sup = Supervisor(config, str(Path(config_path)), runtime_dir, pidfile, detail)
    sup.files.write_pid()
    try:
        return asyncio.run(sup.run())
    finally:
        sup.files.remove_pid()


def child_setup(ping_fd: int) -> None:
    """In a child: die with the parent (PR_SET_PDEATHSIG), a non-blocking ping pipe."""
    import ctypes  # noqa: PLC0415

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.environ.get(PARENT_ENV) not in (None, str(os.getppid())):  # the parent died before prctl
        sys.exit(1)
    os.set_blocking(ping_fd, False)


def ping(fd: int, status: str) -> None:
    """One line to the parent; a full pipe (the parent is stuck) drops it."""
    with contextlib.suppress(BlockingIOError, BrokenPipeError):
        os.write(fd, json.dumps({"ready": True, "status": status}).encode() + b"\n")
