"""A one-shot timer that fires on time: a Linux ``timerfd`` read by the event loop.

Why not ``loop.call_at``: asyncio waits in ``epoll_wait``, whose timeout is
whole milliseconds and is rounded up, so a ``call_at`` callback runs up to
~2 ms after its deadline (median ~1 ms measured, docs/performance.md).  A
VRRP backup's takeover is exactly such a deadline (Master_Down_Interval,
RFC 5798 6.4.2), and keepalived wakes from its own timerfd.  A timerfd armed
with an absolute CLOCK_MONOTONIC time (the clock of ``loop.time()``) makes
the fd readable at the deadline, to the kernel's timer slack, and epoll
wakes for a readable fd at once.

One fd per timer, like one kernel hrtimer per timer: the kernel keeps them
ordered, so re-arming is one syscall and nothing here keeps a heap.
Where timerfd is missing (not Linux) it falls back to ``loop.call_at``.
"""
from __future__ import annotations

import asyncio
import ctypes
import math
import os
import time
from collections.abc import Callable

TFD_TIMER_ABSTIME = 1  # linux/timerfd.h
TFD_NONBLOCK = os.O_NONBLOCK
TFD_CLOEXEC = getattr(os, "O_CLOEXEC", 0o2000000)
NSEC = 1_000_000_000


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class _Timerfd:
    """timerfd_create / timerfd_settime: the os module's (Python 3.13+) or libc's through ctypes."""

    def __init__(self) -> None:
        self._libc = None
        if not hasattr(os, "timerfd_create"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
            libc.timerfd_settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Itimerspec), ctypes.c_void_p]
            self._libc = libc
            # one struct, refilled per call (every advert re-arms a timer): the loop's thread only
            self._spec = _Itimerspec()
            self._value = self._spec.it_value  # a view into _spec, not a copy
            self._spec_ref = ctypes.byref(self._spec)

    def create(self) -> int:
        if self._libc is None:
            return os.timerfd_create(time.CLOCK_MONOTONIC, flags=TFD_NONBLOCK | TFD_CLOEXEC)
        fd = self._libc.timerfd_create(time.CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return fd

    def set_absolute(self, fd: int, ns: int) -> None:
        """Fire at CLOCK_MONOTONIC ``ns``; 0 disarms (timerfd_settime(2))."""
        if self._libc is None:
            os.timerfd_settime_ns(fd, flags=TFD_TIMER_ABSTIME if ns else 0, initial=ns)
            return
        self._value.tv_sec, self._value.tv_nsec = divmod(ns, NSEC)
        if self._libc.timerfd_settime(fd, TFD_TIMER_ABSTIME if ns else 0, self._spec_ref, None) < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))


def _timerfd() -> _Timerfd | None:
    try:
        t = _Timerfd()
        os.close(t.create())
        return t
    except (OSError, AttributeError):
        return None


_TIMERFD = _timerfd()


class DeadlineTimer:
    """``arm(when, callback)`` runs ``callback()`` once at loop time ``when``; ``cancel()`` forgets it.

    Re-arming replaces the pending deadline.  ``when`` is in ``loop.time()``
    seconds, which is CLOCK_MONOTONIC for asyncio's own loops.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop or asyncio.get_running_loop()
        self._callback: Callable[[], None] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._fd = -1
        if _TIMERFD is not None and abs(self._loop.time() - time.monotonic()) < 1e-3:
            self._fd = _TIMERFD.create()
            self._loop.add_reader(self._fd, self._expired)

    @property
    def precise(self) -> bool:
        return self._fd >= 0

    def arm(self, when: float, callback: Callable[[], None]) -> None:
        self._callback = callback
        if self._fd >= 0:
            # never 0 (that disarms): a deadline already past fires at once
            _TIMERFD.set_absolute(self._fd, max(1, math.ceil(when * NSEC)))
        else:
            if self._handle is not None:
                self._handle.cancel()
            self._handle = self._loop.call_at(when, self._fire)

    def cancel(self) -> None:
        self._callback = None
        if self._fd >= 0:
            _TIMERFD.set_absolute(self._fd, 0)  # also clears an expiry not yet read
        elif self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def close(self) -> None:
        self.cancel()
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1

    def _expired(self) -> None:
        try:
            os.read(self._fd, 8)
        except BlockingIOError:  # re-armed or cancelled after it expired: nothing is due
            return
        self._fire()

    def _fire(self) -> None:
        self._handle = None
        callback, self._callback = self._callback, None
        if callback is not None:
            callback()
