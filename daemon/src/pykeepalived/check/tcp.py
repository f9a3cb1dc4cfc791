"""TCP_CHECK: the real server is alive when a TCP connection completes within connect_timeout.

This is the checker that runs by the thousand, so besides ``check()`` it has a
callback fast path, ``start(loop, done, now)``, that the scheduler uses: no task,
no future, no timeout context: one non-blocking connect watched by the
checkers' epoll (check/poller.py: one epoll_ctl, none to remove, SO_ERROR
read only when the connect failed), a deadline in the poller's queue instead
of a timer of its own (about half the CPU of the coroutine path before
either), and two clock reads per attempt (where the clock is a
syscall, as in user-mode-linux, each read counts).
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from collections.abc import Callable

from .base import BaseChecker, CheckResult, Target
from .conn import Endpoint, describe, run_attempt
from .poller import EPOLLOUT, FAILED, Poller, poller_for

Done = Callable[[CheckResult], None]


class TcpAttempt:
    """One connect attempt; calls ``done`` exactly once unless cancelled first."""

    __slots__ = ("loop", "done", "t0", "sock", "fd", "poller")

    def __init__(self, peer: Endpoint, loop: asyncio.AbstractEventLoop, done: Done, now: float | None = None) -> None:
        self.loop, self.done, self.t0 = loop, done, loop.time() if now is None else now
        self.sock: socket.socket | None = None
        self.poller: Poller | None = None
        try:
            sock = peer.stream()
        except OSError as err:
            loop.call_soon(done, CheckResult(False, describe(err)))
            return
        self.sock, self.fd = sock, sock.fileno()
        try:
            code = sock.connect_ex(peer.addr)
        except OSError as err:  # e.g. an unusable address family
            code = err.errno or errno.EINVAL
        if code == errno.EINPROGRESS:
            self.poller = poller = poller_for(loop)
            poller.watch(self.fd, EPOLLOUT, self)
            timeout = peer.target.timeout
            poller.expire_at(self.t0 + timeout, timeout, self)
        else:  # finished at once (loopback) or failed at once: report from the loop, never re-entrantly
            loop.call_soon(self._finish, code == 0, os.strerror(code) if code else "connected")

    def on_event(self, events: int) -> None:
        """Writable: connected, unless SO_ERROR (read only with EPOLLERR/HUP) says otherwise."""
        if self.sock is None:
            return
        # the kernel reports EPOLLERR whenever the socket holds an error: without it SO_ERROR is 0
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) if events & FAILED else 0
        self._finish(code == 0, os.strerror(code) if code else "connected")

    def on_timeout(self) -> None:
        self._finish(False, "timeout")

    def _finish(self, ok: bool, reason: str) -> None:
        if self.sock is None:
            return
        self._release()
        self.done(CheckResult(ok, reason, self.loop.time() - self.t0))

    def _release(self) -> None:
        if self.poller is not None:  # its deadline stays queued: the poller skips a finished attempt
            self.poller.forget(self.fd)
        self.sock.close()  # type: ignore[union-attr]  # also takes it out of the poller's epoll
        self.sock = None

    def cancel(self) -> None:
        if self.sock is not None:
            self._release()


class TcpChecker(BaseChecker):
    """keepalived's TCP_CHECK: connect, then close (nothing is sent)."""

    kind = "TCP_CHECK"

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self.peer = Endpoint(target)

    def start(self, loop: asyncio.AbstractEventLoop, done: Done, now: float | None = None) -> TcpAttempt:
        """Callback form of ``check()`` for the scheduler (``now``: its clock reading, saved a
        second one); ``.cancel()`` on the result aborts."""
        return TcpAttempt(self.peer, loop, done, now)

    async def check(self) -> CheckResult:
        return await run_attempt(self.start)
