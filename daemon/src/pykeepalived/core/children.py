"""The supervised children: start, ping pipe, restart with back-off, stall detection.

The parent (core/supervisor.py) keeps one ``Child`` per role.  Each child is
the same program (``-P``, ``-C`` or ``--bfd``) with ``--ping-fd N``: the write end of a
pipe on which its main loop sends one JSON line every ``ping_period(stall)``
(``{"ready": true}``, plus ``"status": ...`` when its status line changed),
given to it as ``--ping-period``.
A child that exits is started again after a back-off (``next_backoff``);
one whose pings stop for ``stall`` seconds, or that sends nothing for
``START_TIMEOUT``, is SIGKILLed by its pid and restarted like a dead one
(``kill_stalled``).

Work that is long because it is large (a child's start: the snapshot and
the data plane's first full apply; a reload of a big config) blocks the
child's loop, so its pings stop.  Around such work the child runs
``Busy``: a thread that sends ``{"busy": WHAT}`` lines as often.  The parent counts them as liveness (not as readiness:
the VRRP child still waits for the checker child's first loop ping) for
at most ``BUSY_LIMIT`` seconds per piece of work; past it the child is
killed as stuck.  That thread needs the GIL, and a long C call of the
work holds it (a full collection of a 2,000 x 20 heap, an unpickle); on a
loaded host such a call, or the process waiting for a CPU, outlasts the
stall.  So while a child starts or is busy, its CPU time going up (read
from ``/proc``, ``sample_progress``) counts as liveness too, within the
same limits: a blocked child's CPU time stands still, a working one's
does not.  Once its loop runs, only its pings count: a loop that spins
is stuck however much CPU it burns.  A child that never got to its loop (killed while
starting, silent or busy past the limit) is not restarted: the same start
would do the same again, for ever; the supervisor stops with that error
(``gave_up``), and systemd decides what comes next.

The child's half lives here too: ``child_setup`` (die with the parent),
``ping`` and ``Busy``.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..compat.aio import TIMEOUT_ERRORS
from .client import LINE_LIMIT

log = logging.getLogger("pykeepalived.supervisor")

INITIAL_BACKOFF = 0.1
MAX_BACKOFF = 30.0
STABLE = 10.0
STALL = 5.0
START_TIMEOUT = 30.0  # s of silence before a child's first line (busy or ping)
BUSY_LIMIT = 300.0  # s one piece of busy work may take (a first apply of 2,000 x 20 takes ~10 s loaded)
MAX_PING_PERIOD = 1.0  # s: each ping wakes both processes (255 instances: ~10 % of the VRRP child's CPU at 4 a second)
PARENT_ENV = "PYKEEPALIVED_PARENT_PID"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")  # /proc/PID/stat's unit of CPU time
# the stop goes in this order: VRRP first (its priority-0 adverts), BFD last (tracked sessions hold meanwhile)
ROLES = {"vrrp": ("-P", "vrrp.pid"), "check": ("-C", "checkers.pid"), "bfd": ("--bfd", "bfd.pid")}


def needed_roles(config) -> tuple[str, ...]:
    """The children a config needs: VRRP always; the checker child only with a virtual_server
    and the BFD child only with a bfd_instance (keepalived starts its processes on the same
    rules).  A reload that adds the first one starts it; one that removes the last leaves it idle."""
    return tuple(role for role, needed in (("vrrp", True), ("check", bool(config.virtual_servers)),
                                           ("bfd", bool(config.bfd_instances))) if needed)


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
    busy: str | None = None  # what the child said it is busy with (its loop is blocked on it)
    busy_since: float | None = None
    last_busy: float | None = None  # its last busy line
    ever_ready: bool = False  # it has pinged from its loop once (this run)
    gave_up: str | None = None  # why it is not restarted (a start that cannot finish)
    cpu: float | None = None  # its CPU seconds when last sampled (sample_progress)
    last_progress: float | None = None  # when its CPU time was last seen going up (starting or busy)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def reporting(self, now: float, stall: float, busy_limit: float = BUSY_LIMIT) -> bool:
        """Its loop has pinged once and it pings or works (busy) now: systemd's WATCHDOG=1 goes on."""
        return self.alive and self.ever_ready and stalled(self, now, stall, busy_limit) is None


# argv(role, ping_fd): the child's command line (the supervisor's, it knows the paths)
Argv = Callable[[str, int], list[str]]


async def spawn(child: Child, argv: Argv) -> None:
    rfd, wfd = os.pipe()
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    env[PARENT_ENV] = str(os.getpid())
    try:
        child.proc = await asyncio.create_subprocess_exec(*argv(child.role, wfd), pass_fds=(wfd,), env=env,
                                                          stdin=asyncio.subprocess.DEVNULL)
    except OSError as err:
        os.close(rfd)
        log.error("cannot start the %s child: %s", child.role, err)
        child.proc = None
        return
    finally:
        os.close(wfd)
    child.started, child.last_ping, child.status = time.monotonic(), None, ""
    child.busy = child.busy_since = child.last_busy = None
    child.ever_ready = False
    child.cpu = child.last_progress = None
    log.info("%s child started, pid %d", child.role, child.proc.pid)
    child.reader = asyncio.get_running_loop().create_task(read_pings(child, rfd))


async def read_pings(child: Child, rfd: int) -> None:
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
            heard(child, msg, time.monotonic())
    except (ValueError, ConnectionError):
        pass
    finally:
        transport.close()


def heard(child: Child, msg: object, now: float) -> None:
    """One line from the child: a loop ping (alive and ready) or a busy line (alive, working)."""
    if not isinstance(msg, dict):
        return
    if msg.get("busy") is not None:
        what = str(msg["busy"])
        if what != child.busy:  # a new piece of work: its own BUSY_LIMIT
            child.busy, child.busy_since = what, now
        child.last_busy = now
        return
    child.busy = child.busy_since = child.last_busy = None
    child.last_ping, child.ever_ready = now, True
    if "status" in msg:  # a ping carries the status line only when it changed (ping())
        child.status = str(msg["status"])


async def keep(child: Child, argv: Argv, stop: asyncio.Event, stopping: Callable[[], bool],
               give_up: Callable[[Child], None] = lambda child: None) -> None:
    """Run one child for ever: start, wait for its exit, back off, start again.  ``stopping()``
    is true once SIGTERM went out to the children (an exit then is the stop, not a death).
    A child killed before its loop ever ran (``kill_stalled`` set ``gave_up``) is not started
    again: ``give_up(child)`` tells the supervisor."""
    while not stop.is_set():
        await spawn(child, argv)
        if child.proc is not None:
            rc = await child.proc.wait()
            ran = time.monotonic() - child.started
            child.last_exit = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit {rc}"
            if stop.is_set() or stopping():  # stopping: SIGTERM went out already
                break
            if child.gave_up is not None:
                log.error("%s child could not start: %s; not restarting it", child.role, child.gave_up)
                give_up(child)
                break
            child.backoff = next_backoff(child.backoff, ran)
            log.error("%s child (pid %d) died (%s) after %.1f s: restarting in %.1f s", child.role,
                      child.proc.pid, child.last_exit, ran, child.backoff)
        delay = child.backoff
        child.backoff = min(child.backoff * 2, MAX_BACKOFF)  # the next quick death waits longer
        child.restarts += 1
        with contextlib.suppress(*TIMEOUT_ERRORS):
            await asyncio.wait_for(stop.wait(), delay)


def ping_period(stall: float) -> float:
    """How often a child pings: five pings in a stall period (a late one or two is no stall),
    at most once a second (1 s under the default 5 s stall; 0.2 s under WatchdogSec=2)."""
    return min(MAX_PING_PERIOD, stall / 5)


def working(child: Child) -> bool:
    """Starting, or busy since its last loop ping: the phases whose CPU time counts as liveness."""
    return not child.ever_ready or child.busy is not None


def stalled(child: Child, now: float, stall: float, busy_limit: float = BUSY_LIMIT) -> str | None:
    """Why ``child`` counts as stuck at ``now`` (pure), or None while it pings or works."""
    progress = child.last_progress if working(child) else None
    if child.busy is not None and any(t is not None and now - t <= stall for t in (child.last_busy, progress)):
        took = now - child.busy_since
        return f"busy ({child.busy}) for {took:.1f} s, more than {busy_limit:g} s" if took > busy_limit else None
    last = max((t for t in (child.last_ping, child.last_busy) if t is not None), default=None)
    if last is None:
        silent = now - child.started
        if progress is not None and now - progress <= stall:  # silent but computing: its start's own limit
            return f"starting for {silent:.1f} s, more than {busy_limit:g} s" if silent > busy_limit else None
        return f"never reported for {silent:.1f} s" if silent > START_TIMEOUT else None
    return f"stalled for {now - last:.1f} s" if now - last > stall else None


def sample_progress(children: dict[str, Child], now: float) -> None:
    """Note when each starting or busy child's CPU time went up since the last sample."""
    for child in children.values():
        if not child.alive or not working(child):
            child.cpu = None
            continue
        cpu = cpu_seconds(child.proc.pid)
        if cpu is not None and child.cpu is not None and cpu > child.cpu:
            child.last_progress = now
        child.cpu = cpu


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (all its threads), None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()  # after "(comm)": comm may hold spaces
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)


def kill_stalled(children: dict[str, Child], now: float, stall: float, busy_limit: float = BUSY_LIMIT) -> None:
    """SIGKILL (by pid, our own children) every child stuck (``stalled``); ``keep`` restarts
    it, unless it never got to its loop: that start is given up (``Child.gave_up``)."""
    for child in children.values():
        if not child.alive:
            continue
        why = stalled(child, now, stall, busy_limit)
        if why is None:
            continue
        log.error("%s child (pid %d) %s: killing it", child.role, child.proc.pid, why)
        child.proc.kill()  # our own child, by its pid
        if not child.ever_ready:
            child.gave_up = why
        child.last_ping, child.last_exit = None, "stalled"
        child.busy = child.busy_since = child.last_busy = child.last_progress = None


def status_line(children: dict[str, Child]) -> str:
    """systemd's STATUS= of the parent: the children's lines joined, or why one is missing."""
    parts = []
    for child in children.values():
        if not child.alive or child.last_ping is None:
            parts.append(f"{child.role} child {'restarting' if child.last_exit else 'starting'}")
        elif child.status and not child.status.startswith("running (nothing"):
            parts.append(child.status)
    return ", ".join(parts) or "running (nothing configured)"


def children_status(children: dict[str, Child], now: float, stall: float) -> dict[str, dict]:
    return {c.role: {"pid": c.proc.pid if c.alive else None, "up": c.reporting(now, stall),
                     "restarts": c.restarts, "last_exit": c.last_exit} for c in children.values()}


# -- the child's half ------------------------------------------------------------------
def child_setup(ping_fd: int) -> None:
    """In a child: die with the parent (PR_SET_PDEATHSIG), a non-blocking ping pipe."""
    import ctypes  # noqa: PLC0415

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.environ.get(PARENT_ENV) not in (None, str(os.getppid())):  # the parent died before prctl
        sys.exit(1)
    os.set_blocking(ping_fd, False)


def ping(fd: int, status: str | None = None) -> None:
    """One line to the parent; a full pipe (the parent is stuck) drops it.  ``status``: the new
    status line, None when unchanged (255 instances make a 5 kB line)."""
    _send(fd, {"ready": True} if status is None else {"ready": True, "status": status})


def _send(fd: int, msg: dict) -> None:
    with contextlib.suppress(BlockingIOError, BrokenPipeError):
        os.write(fd, json.dumps(msg).encode() + b"\n")  # one short write: whole on a pipe


class Busy:
    """``with Busy(fd, "first apply of the data plane", period):`` a thread says so every ``period``
    while the loop is blocked on that work (no-op without a ping fd: not supervised)."""

    def __init__(self, fd: int | None, what: str, period: float) -> None:
        self.fd, self.what, self.period = fd, what, period
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Busy:
        if self.fd is not None and self._thread is None:
            _send(self.fd, {"busy": self.what})
            self._thread = threading.Thread(target=self._run, name="busy-ping", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._done.wait(self.period):
            _send(self.fd, {"busy": self.what})

    def stop(self) -> None:
        """Idempotent; the thread has sent its last line when this returns."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Busy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
