"""HTTP_GET on callbacks: the scheduler's fast path for plain HTTP (SSL_GET keeps http.fetch).

Same contract as :func:`.http.fetch` per url (one connection each, urls in
turn; connect_timeout bounds the connect, the response head, and each read of
the body on its own) without a task, streams or a transport: the coroutine
path costs about twelve getpid(2) per check in CPython 3.11
(``get_running_loop()``), plus getsockname/getpeername/setsockopt of a
transport, and more than three times keepalived's CPU in a UML guest.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import socket
from collections.abc import Callable

from .base import CheckResult
from .conn import describe, make_socket, sockaddr
from .http_wire import MAX_BODY, UrlFailure, build_request, parse_head

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

    __slots__ = ("checker", "loop", "done", "t0", "index", "sock", "fd", "timer", "out", "buf", "head",
                 "connected", "reading", "over")

    def __init__(self, checker, loop: asyncio.AbstractEventLoop, done: Done, now: float | None = None) -> None:
        self.checker, self.loop, self.done = checker, loop, done
        self.t0 = loop.time() if now is None else now
        self.index = 0
        self.sock: socket.socket | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.over = False
        self._connect()

    # -- steps ------------------------------------------------------------------------
    def _connect(self) -> None:
        target = self.checker.target
        try:
            sock = make_socket(target)
        except OSError as err:
            self.loop.call_soon(self._end, False, self._why(describe(err)))
            return
        self.sock, self.fd, self.buf, self.head = sock, sock.fileno(), b"", None
        self.connected = self.reading = False
        url = self.checker.urls[self.index]
        self.out = build_request(url, target, self.checker.protocol, False)
        try:
            code = sock.connect_ex(sockaddr(target))
        except OSError as err:
            code = err.errno or errno.EINVAL
        if code not in (0, errno.EINPROGRESS):
            self.loop.call_soon(self._end, False, self._why(os.strerror(code)))
            return
        self.loop.add_writer(self.fd, self._writable)
        self._arm()

    def _writable(self) -> None:
        sock = self.sock
        if not self.connected:
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                self._end(False, self._why(os.strerror(code)))
                return
            self.connected = True
        try:
            sent = sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as err:
            self._end(False, self._why(describe(err)))
            return
        self.out = self.out[sent:]
        if not self.out:
            self.loop.remove_writer(self.fd)
            self.loop.add_reader(self.fd, self._readable)
            self.reading = True
            self._arm()  # the response head gets its own connect_timeout

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
            self.head = parse_head(self.buf[:end])
            self.buf = self.buf[end + 4:]
            if url.digest is None:  # the status is all that counts: no body is read
                self._url_done(self.head[0], b"")
                return
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
            self._arm()  # each read of the body is bounded on its own
            return
        self._url_done(code, body)

    def _url_done(self, code: int, body: bytes) -> None:
        url = self.checker.urls[self.index]
        if not url.accepts(code):
            self._end(False, f"{url.path}: status {code}")
            return
        if url.digest is not None:
            digest = hashlib.md5(body, usedforsecurity=False).hexdigest()
            if digest != url.digest.lower():
                self._end(False, f"{url.path}: digest {digest} != {url.digest}")
                return
        self._release()
        self.index += 1
        if self.index == len(self.checker.urls):
            self.over = True
            self.done(CheckResult(True, "ok", self.loop.time() - self.t0))
        else:
            self._connect()

    # -- bookkeeping --------------------------------------------------------------------
    def _why(self, reason: str) -> str:
        return f"{self.checker.urls[self.index].path}: {reason}"

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_later(self.checker.target.timeout, self._end, False, self._why("timeout"))

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
        if self.sock is not None:  # only what is registered: a needless remove is an epoll_ctl
            if self.reading:
                self.loop.remove_reader(self.fd)
            else:
                self.loop.remove_writer(self.fd)
            self.sock.close()
            self.sock = None

    def cancel(self) -> None:
        self.over = True
        self._release()
