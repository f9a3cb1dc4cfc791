"""HTTP_GET on callbacks: the scheduler's fast path for plain HTTP (SSL_GET keeps http.fetch).

Same contract as :func:`.http.fetch` per url (one connection each, urls in
turn; connect_timeout bounds the connect, the response head, and each read of
the body on its own) without a task, streams or a transport: the coroutine
path costs about twelve getpid(2) per check in CPython 3.11
(``get_running_loop()``), plus getsockname/getpeername/setsockopt of a
transport, and more than three times keepalived's CPU in a UML guest.

In a UML guest every syscall and clock read traps, so a check makes as few as
it can: socket, connect, send, recv, close, two epoll_ctl on the checkers'
epoll (check/poller.py: add for writing, change to reading; close removes it)
and three clock reads (start, request sent, end).  No
getsockopt(SO_ERROR) when the connect completes: ``send`` itself reports a
refused or reset connection.  One timer per url, moved lazily: a step only
sets its deadline; the timer, when it fires early, re-arms at that deadline.
The request is built once per checker; a url without digest or regex parses
only the status line.
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Callable

from .base import CheckResult
from .conn import describe
from .http_wire import MAX_BODY, UrlFailure, parse_head, parse_status
from .poller import EPOLLIN, EPOLLOUT, poller_for

HEAD_LIMIT = 1 << 16  # asyncio's StreamReader limit, which fetch() inherits: "headers too long"
Done = Callable[[CheckResult], None]


def dechunk(data: bytes) -> bytes | None:
    """A chunked body, or None while incomplete (as http.read_body: stops at size 0 or MAX_BODY)."""
    body, pos = bytearray(), 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(data[pos:eol].split(b";")[0].strip() or b"0", 16)
        if size == 0 or len(body) + size > MAX_BODY:
            return bytes(body)
        if len(data) < eol + 2 + size + 2:
            return None
        body += data[eol + 2:eol + 2 + size]
        pos = eol + 2 + size + 2


class HttpAttempt:
    """All urls of one HttpChecker, one after the other; calls ``done`` once unless cancelled."""

    __slots__ = ("checker", "loop", "done", "t0", "index", "sock", "fd", "timer", "deadline", "out", "buf",
                 "head", "reading", "over", "poller")

    def __init__(self, checker, loop: asyncio.AbstractEventLoop, done: Done, now: float | None = None) -> None:
        self.checker, self.loop, self.done = checker, loop, done
        self.t0 = loop.time() if now is None else now
        self.index = 0
        self.sock = None
        self.timer: asyncio.TimerHandle | None = None
        self.over = False
        self.poller = poller_for(loop)
        self._connect(self.t0)

    # -- steps ------------------------------------------------------------------------
    def _connect(self, now: float) -> None:
        checker = self.checker
        target = checker.target
        try:
            sock = checker.peer.stream()
        except OSError as err:
            self.loop.call_soon(self._end, False, self._why(describe(err)))
            return
        self.sock, self.fd, self.buf, self.head, self.reading = sock, sock.fileno(), b"", None, False
        self.out = checker.requests[self.index]
        try:
            code = sock.connect_ex(checker.peer.addr)
        except OSError as err:
            code = err.errno or errno.EINVAL
        if code not in (0, errno.EINPROGRESS):
            self.loop.call_soon(self._end, False, self._why(os.strerror(code)))
            return
        self.poller.watch(self.fd, EPOLLOUT, self)
        self.deadline = now + target.timeout
        self.timer = self.loop.call_at(self.deadline, self._expired)

    def on_event(self, _events: int) -> None:
        if self.sock is not None:
            self._readable() if self.reading else self._writable()

    def _writable(self) -> None:
        # connected, or failed: a failed connect makes send raise its error (ECONNREFUSED, ...)
        try:
            sent = self.sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as err:
            self._end(False, self._why(describe(err)))
            return
        self.out = self.out[sent:]
        if not self.out:
            self.poller.change(self.fd, EPOLLIN)
            self.reading = True
            self.deadline = self.loop.time() + self.checker.target.timeout  # the response head's own timeout

    def _readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as err:
            self._end(False, self._why(describe(err)))
            return
        try:
            self._received(data)
        except (UrlFailure, ValueError) as err:
            self._end(False, self._why(describe(err)))

    def _received(self, data: bytes) -> None:
        url = self.checker.urls[self.index]
        self.buf += data
        if self.head is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if not data:
                    raise UrlFailure("connection closed before the end of the response headers")
                if len(self.buf) > HEAD_LIMIT:
                    raise UrlFailure("response headers too long")
                return
            if not url.needs_body:  # the status is all that counts: no header parsed, no body read
                self._url_done(parse_status(self.buf), b"")
                return
            self.head = parse_head(self.buf[:end])
            self.buf = self.buf[end + 4:]
        code, headers = self.head
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = dechunk(self.buf)
            if body is None and not data:
                raise UrlFailure("connection closed inside a chunked body")
        else:
            length = headers.get("content-length")
            want = int(length) if length and length.isdigit() else MAX_BODY
            body = self.buf[:want] if len(self.buf) >= want or not data else None
        if body is None:
            self.deadline = self.loop.time() + self.checker.target.timeout  # each read of the body on its own
            return
        self._url_done(code, body)

    def _url_done(self, code: int, body: bytes) -> None:
        url = self.checker.urls[self.index]
        if not url.accepts(code):
            self._end(False, f"{url.path}: status {code}")
            return
        fault = url.body_fault(body) if url.needs_body else None
        if fault is not None:
            self._end(False, fault)
            return
        self._release()
        self.index += 1
        now = self.loop.time()
        if self.index == len(self.checker.urls):
            self.over = True
            self.done(CheckResult(True, "ok", now - self.t0))
        else:
            self._connect(now)

    # -- bookkeeping --------------------------------------------------------------------
    def _why(self, reason: str) -> str:
        return f"{self.checker.urls[self.index].path}: {reason}"

    def _expired(self) -> None:
        """The timer: a timeout if the current step's deadline has passed, else wait for that."""
        if self.loop.time() >= self.deadline:
            self.timer = None
            self._end(False, self._why("timeout"))
        else:
            self.timer = self.loop.call_at(self.deadline, self._expired)

    def _end(self, ok: bool, reason: str) -> None:
        if self.over:
            return  # cancelled, or already reported
        self.over = True
        self._release()
        self.done(CheckResult(ok, reason, self.loop.time() - self.t0))

    def _release(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.sock is not None:
            self.poller.forget(self.fd)
            self.sock.close()  # also takes it out of the poller's epoll: no epoll_ctl
            self.sock = None

    def cancel(self) -> None:
        self.over = True
        self._release()
