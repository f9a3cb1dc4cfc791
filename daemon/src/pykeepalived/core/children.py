"""The supervised children: start, ping pipe, restart with back-off, stall detection.

The parent (core/supervisor.py) keeps one ``Child`` per role.  Each child is
the same program (``-P`` or ``-C``) with ``--ping-fd N``: the write end of a
pipe on which its main loop sends one JSON line every ``PING_PERIOD``
(``{"ready": true, "status": ...}``).  A child that exits is started again
after a back-off (``next_backoff``); one whose pings stop for ``stall``
seconds, or that sends nothing for ``START_TIMEOUT``, is SIGKILLed by its
pid and restarted like a dead one (``kill_stalled``).

The child's half lives here too: ``child_setup`` (die with the parent) and
``ping``.
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
START_TIMEOUT = 30.0
PING_PERIOD = 0.25
PARENT_ENV = "PYKEEPALIVED_PARENT_PID"
ROLES = {"vrrp": ("-P", "vrrp.pid"), "check": ("-C", "checkers.pid")}


def needed_roles(config) -> tuple[str, ...]:
    """The children a config needs: VRRP always; the checker child only with a virtual_server
    (keepalived starts its checker process on the same rule).  A reload that adds the first
    virtual_server starts it; one that removes the last leaves it idle."""
    return ("vrrp", "check") if config.virtual_servers else ("vrrp",)


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

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def reporting(self, now: float, stall: float) -> bool:
        return self.alive and self.last_ping is not None and now - self.last_ping <= stall


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
            child.last_ping = time.monotonic()
            child.status = str(msg.get("status", ""))
    except (ValueError, ConnectionError):
        pass
    finally:
        transport.close()


async def keep(child: Child, argv: Argv, stop: asyncio.Event, stopping: Callable[[], bool]) -> None:
    """Run one child for ever: start, wait for its exit, back off, start again.  ``stopping()``
    is true once SIGTERM went out to the children (an exit then is the stop, not a death)."""
    while not stop.is_set():
        await spawn(child, argv)
        if child.proc is not None:
            rc = await child.proc.wait()
            ran = time.monotonic() - child.started
            child.last_exit = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit {rc}"
            if stop.is_set() or stopping():  # stopping: SIGTERM went out already
                break
            child.backoff = next_backoff(child.backoff, ran)
            log.error("%s child (pid %d) died (%s) after %.1f s: restarting in %.1f s", child.role,
                      child.proc.pid, child.last_exit, ran, child.backoff)
        delay = child.backoff
        child.backoff = min(child.backoff * 2, MAX_BACKOFF)  # the next quick death waits longer
        child.restarts += 1
        with contextlib.suppress(*TIMEOUT_ERRORS):
            await asyncio.wait_for(stop.wait(), delay)


def kill_stalled(children: dict[str, Child], now: float, stall: float) -> None:
    """SIGKILL (by pid, our own children) every child silent for too long; ``keep`` restarts it."""
    for child in children.values():
        if not child.alive:
            continue
        silent = now - (child.last_ping if child.last_ping is not None else child.started)
        limit = stall if child.last_ping is not None else START_TIMEOUT
        if silent > limit:
            log.error("%s child (pid %d) %s for %.1f s: killing it", child.role, child.proc.pid,
                      "stalled" if child.last_ping is not None else "never reported", silent)
            child.proc.kill()  # our own child, by its pid
            child.last_ping, child.last_exit = None, "stalled"


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


def ping(fd: int, status: str) -> None:
    """One line to the parent; a full pipe (the parent is stuck) drops it."""
    with contextlib.suppress(BlockingIOError, BrokenPipeError):
        os.write(fd, json.dumps({"ready": True, "status": status}).encode() + b"\n")
