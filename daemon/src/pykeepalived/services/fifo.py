"""Notify fifos: ``notify_fifo`` / ``vrrp_notify_fifo`` lines in keepalived's format.

keepalived.conf(5) (global_defs, vrrp_sync_group) and its
``sample_notify_fifo.sh``: one line per transition, the last four
arguments of a ``notify`` script with the name quoted::

    INSTANCE "VI_1" MASTER 100
    GROUP "VG_1" BACKUP 0

A fifo is created (mode 0600) when missing and removed at exit only if we
created it.  It is opened read-write and non-blocking, so the open needs no
reader and a write never blocks the event loop: a line that does not fit
(nobody reading, pipe full) is dropped and counted.  Each line is one
``write()`` under PIPE_BUF bytes, hence atomic.  A fifo's script
(``notify_fifo_script``, ``vrrp_notify_fifo_script``; the checkers'
``lvs_notify_fifo_script``, check/notify.py) is started with the fifo path as
its last argument and gets SIGTERM at exit.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import stat

from ..compat.aio import TIMEOUT_ERRORS
from ..config.model_vrrp import GlobalDefs, Script

log = logging.getLogger("pykeepalived.core.fifo")  # the name from before services/ (log filters)


def fifo_line(kind: str, name: str, state: str, priority: int) -> str:
    """keepalived's notify_fifo line (vrrp_notify.c): ``KIND "NAME" STATE PRIORITY``."""
    return f'{kind} "{name}" {state} {priority}\n'


class Fifo:
    """One fifo, opened so that writing never blocks nor fails for want of a reader."""

    def __init__(self, path: str) -> None:
        self.path, self.dropped, self.written, self.created = path, 0, 0, False
        try:
            if not stat.S_ISFIFO(os.stat(path).st_mode):
                raise OSError(errno.EEXIST, f"{path} exists and is not a fifo")
        except FileNotFoundError:
            os.mkfifo(path, 0o600)
            self.created = True
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)

    def write(self, line: str) -> None:
        try:
            os.write(self.fd, line.encode())
            self.written += 1
        except BlockingIOError:  # full: drop rather than stall VRRP
            self.dropped += 1

    def close(self) -> None:
        os.close(self.fd)
        if self.created:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


class FifoScripts:
    """The scripts that read our fifos (``notify_fifo_script``, ``vrrp_notify_fifo_script``,
    ``lvs_notify_fifo_script``): each starts with its fifo's path as its last argument, once the
    fifo exists, and gets SIGTERM (by its pid) at exit after a moment to read the last lines."""

    def __init__(self) -> None:
        self._procs: list[tuple[str, asyncio.subprocess.Process]] = []
        self.started: list[asyncio.subprocess.Process] = []  # every one, kept for status and tests

    async def start(self, script: Script, path: str) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *script.argv, path, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL, start_new_session=True)
        except OSError as err:
            log.error("cannot run the fifo script %s for %s: %s", script.argv[0], path, err)
            return
        self._procs.append((path, proc))
        self.started.append(proc)

    async def stop(self, timeout: float = 2.0) -> None:
        running = [proc for _path, proc in self._procs if proc.returncode is None]
        self._procs = []
        if not running:
            return
        await asyncio.sleep(0.1)
        for proc in running:
            proc.terminate()
        for proc in running:
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TIMEOUT_ERRORS:
                proc.kill()
                await proc.wait()


class NotifyFifos:
    """global_defs' notify_fifo (all events) and vrrp_notify_fifo (VRRP events), each with its script."""

    def __init__(self, g: GlobalDefs) -> None:
        wanted = [(p, sc) for p, sc in ((g.notify_fifo, g.notify_fifo_script),
                                        (g.vrrp_notify_fifo, g.vrrp_notify_fifo_script)) if p]
        self.scripts_of: dict[str, Script | None] = {}
        for path, sc in wanted:  # keepalived wants them distinct; never write twice
            self.scripts_of.setdefault(path, sc)
        self.paths = list(self.scripts_of)
        self.fifos: list[Fifo] = []
        self.scripts = FifoScripts()

    async def open(self) -> None:
        for path in self.paths:
            try:
                self.fifos.append(Fifo(path))
            except OSError as err:
                log.error("notify fifo %s: %s", path, err)
                continue
            sc = self.scripts_of[path]
            if sc is not None:
                await self.scripts.start(sc, path)

    def write(self, line: str) -> None:
        for fifo in self.fifos:
            fifo.write(line)

    def status(self) -> dict[str, dict[str, int]]:
        return {f.path: {"written": f.written, "dropped": f.dropped} for f in self.fifos}

    async def close(self, timeout: float = 2.0) -> None:
        """SIGTERM the fifo scripts (ours, by their pids), then close (and remove) the fifos."""
        await self.scripts.stop(timeout)
        for fifo in self.fifos:
            fifo.close()
        self.fifos = []
