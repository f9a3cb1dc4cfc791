"""Sockets for checkers: bindto / bind_port / bind_if / fwmark, a bounded connect, and awaiting an attempt."""

from __future__ import annotations

import _socket
import asyncio
import os
import socket

from ..compat.aio import TIMEOUT_ERRORS, asyncio_timeout
from .base import Target

SO_MARK = getattr(socket, "SO_MARK", 36)
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)


def sockaddr(target: Target, port: int | None = None) -> tuple:
    """The peer address; a link-local IPv6 address needs the bind_if scope."""
    addr = target.sockaddr(port)
    if target.ip.version == 6 and target.ip.is_link_local and target.bind_if:
        return (*addr, 0, socket.if_nametoindex(target.bind_if))
    return addr


def make_socket(target: Target, kind: int = socket.SOCK_STREAM, proto: int = 0,
                family: int | None = None) -> socket.socket:
    """A non-blocking socket with the checker's source options applied."""
    # non-blocking from socket(2) itself: setblocking() would cost one more syscall per check
    sock = socket.socket(family or target.family, kind | socket.SOCK_NONBLOCK, proto)
    try:
        if target.bind_if:
            sock.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, target.bind_if.encode())
        if target.fwmark:
            sock.setsockopt(socket.SOL_SOCKET, SO_MARK, target.fwmark)
        if target.bindto is not None or target.bind_port:
            if target.bind_port:
                # A fixed source port is reused every interval, often while the old one is in TIME_WAIT.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            any_ip = "::" if target.ip.version == 6 else "0.0.0.0"
            src = str(target.bindto) if target.bindto is not None else any_ip
            scope = (0, socket.if_nametoindex(target.bind_if)) if (
                target.bindto is not None and target.bindto.version == 6 and target.bindto.is_link_local
                and target.bind_if) else ()
            sock.bind((src, target.bind_port or 0, *scope))
    except BaseException:
        sock.close()
        raise
    return sock


class Endpoint:
    """A checker's TCP peer, worked out once: family, address, and whether a source option applies.

    Without one (the usual case) ``stream()`` makes the C socket type itself: socket.socket's
    Python ``__init__`` and ``close`` cost more CPU per check than the syscalls they wrap."""

    __slots__ = ("target", "family", "plain", "_addr")

    def __init__(self, target: Target) -> None:
        self.target, self.family = target, target.family
        self.plain = not (target.bind_if or target.fwmark or target.bindto is not None or target.bind_port)
        self._addr = sockaddr(target) if self.plain else None  # with bind_if: the scope is looked up each time

    def stream(self):
        if self.plain:
            return _socket.socket(self.family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        return make_socket(self.target)

    @property
    def addr(self) -> tuple:
        return self._addr if self._addr is not None else sockaddr(self.target)


async def connect(target: Target, port: int | None = None) -> socket.socket:
    """A connected TCP socket, or an exception (TimeoutError after ``target.timeout``)."""
    sock = make_socket(target)
    try:
        async with asyncio_timeout(target.timeout):
            await asyncio.get_running_loop().sock_connect(sock, sockaddr(target, port))
    except BaseException:
        sock.close()
        raise
    return sock


def describe(err: BaseException) -> str:
    """A short reason for logs: 'timeout' or the OS error text."""
    if isinstance(err, TIMEOUT_ERRORS):
        return "timeout"
    if isinstance(err, OSError) and err.errno:
        return os.strerror(err.errno)  # asyncio's own text is "Connect call failed (...)"
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


async def run_attempt(start):
    """Await a callback-style check attempt (``start(loop, done)`` returns something with
    ``cancel()``: TcpAttempt, HttpAttempt); a cancelled await aborts the attempt."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    attempt = start(loop, lambda r: fut.done() or fut.set_result(r))
    try:
        return await fut
    except asyncio.CancelledError:
        attempt.cancel()
        raise
