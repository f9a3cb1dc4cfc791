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
``write()`` under PIPE_BUF bytes, hence atomic.  ``notify_fifo_script`` is
started with the fifo path as its last argument and gets SIGTERM at exit.
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


class NotifyFifos:
    """global_defs' notify_fifo (all events) and vrrp_notify_fifo (VRRP events), and the fifo script."""

    def __init__(self, g: GlobalDefs) -> None:
        paths = [p for p in (g.notify_fifo, g.vrrp_notify_fifo) if p]
        self.paths = list(dict.fromkeys(paths))  # keepalived wants them distinct; never write twice
        self.script: Script | None = g.notify_fifo_script if g.notify_fifo else None
        self.fifos: list[Fifo] = []
        self._proc: asyncio.subprocess.Process | None = None

    async def open(self) -> None:
        for path in self.paths:
            try:
                self.fifos.append(Fifo(path))
            except OSError as err:
                log.error("notify fifo %s: %s", path, err)
        if self.script is not None and self.fifos and self.fifos[0].path == self.paths[0]:
            try:
                self._proc = await asyncio.create_subprocess_exec(
                    *self.script.argv, self.paths[0], stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, start_new_session=True)
            except OSError as err:
                log.error("cannot run notify_fifo_script %s: %s", self.script.argv[0], err)

    def write(self, line: str) -> None:
        for fifo in self.fifos:
            fifo.write(line)

    def status(self) -> dict[str, dict[str, int]]:
        return {f.path: {"written": f.written, "dropped": f.dropped} for f in self.fifos}

    async def close(self, timeout: float = 2.0) -> None:
        """SIGTERM the fifo script (ours, by its pid) after a moment to read the last lines."""
        if self._proc is not None and self._proc.returncode is None:
            await asyncio.sleep(0.1)
            self._proc.terminate()
            try:
                await asyncio.wait_for(self._proc.wait(), timeout)
            except TIMEOUT_ERRORS:
                self._proc.kill()
                await self._proc.wait()
        for fifo in self.fifos:
            fifo.close()
        self.fifos = []
