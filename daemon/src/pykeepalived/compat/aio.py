"""Python 3.9-3.13, the event loop's part of compat/: timeouts, datagram sockets, Event/Lock/Queue."""
from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

# Before 3.11 asyncio.TimeoutError (wait_for) is not the builtin TimeoutError,
# and before 3.10 neither is socket.timeout: catch this tuple around any of them.
TIMEOUT_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, asyncio.TimeoutError, socket.timeout)

if sys.version_info >= (3, 11):
    from asyncio import timeout as asyncio_timeout
else:
    class asyncio_timeout:
        """asyncio.timeout(delay): cancel the block after ``delay`` s, raise the builtin TimeoutError."""

        def __init__(self, delay: float | None) -> None:
            self._delay, self._handle, self._expired = delay, None, False

        async def __aenter__(self) -> asyncio_timeout:
            if self._delay is not None:
                task = asyncio.current_task()
                self._handle = asyncio.get_running_loop().call_later(max(self._delay, 0), self._expire, task)
            return self

        def _expire(self, task: asyncio.Task) -> None:
            self._expired = True
            task.cancel()

        async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
            if self._handle is not None:
                self._handle.cancel()
            if self._expired and exc_type is asyncio.CancelledError:
                raise TimeoutError from exc


async def sock_sendto(loop: asyncio.AbstractEventLoop, sock: socket.socket, data: bytes, address: Any) -> int:
    """loop.sock_sendto (3.11+) on a non-blocking socket."""
    if sys.version_info >= (3, 11):
        return await loop.sock_sendto(sock, data, address)
    while True:
        try:
            return sock.sendto(data, address)
        except (BlockingIOError, InterruptedError):
            await _ready(loop, sock, loop.add_writer, loop.remove_writer)


async def sock_recvfrom(loop: asyncio.AbstractEventLoop, sock: socket.socket, bufsize: int) -> tuple[bytes, Any]:
    """loop.sock_recvfrom (3.11+) on a non-blocking socket."""
    if sys.version_info >= (3, 11):
        return await loop.sock_recvfrom(sock, bufsize)
    while True:
        try:
            return sock.recvfrom(bufsize)
        except (BlockingIOError, InterruptedError):
            await _ready(loop, sock, loop.add_reader, loop.remove_reader)


async def _ready(loop: asyncio.AbstractEventLoop, sock: socket.socket, add: Any, remove: Any) -> None:
    fut = loop.create_future()
    add(sock.fileno(), lambda: fut.done() or fut.set_result(None))
    try:
        await fut
    finally:
        remove(sock.fileno())


if sys.version_info >= (3, 10):
    from asyncio import Event, Lock, Queue
else:
    class _RunningLoop:
        """3.9 binds a primitive to get_event_loop() when it is made, so one made before
        asyncio.run() fails in it ("attached to a different loop"); 3.10+ use the running loop."""

        @property
        def _loop(self) -> asyncio.AbstractEventLoop:
            return asyncio.get_running_loop()

        @_loop.setter
        def _loop(self, value: Any) -> None:
            pass

    class Event(_RunningLoop, asyncio.Event):
        pass

    class Lock(_RunningLoop, asyncio.Lock):
        pass

    class Queue(_RunningLoop, asyncio.Queue):
        def __init__(self, maxsize: int = 0) -> None:
            super().__init__(maxsize)
            self._finished = Event()  # join()'s, made by asyncio.Queue with the same binding
            self._finished.set()
