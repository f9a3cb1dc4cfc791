"""A one-shot timer that fires on time: a Linux ``timerfd`` read by the event loop.

Why not ``loop.call_at``: asyncio waits in ``epoll_wait``, whose timeout is
whole milliseconds and is rounded up, so a ``call_at`` callback runs up to
~2 ms after its deadline (median ~1 ms measured, docs/performance.md).  A
VRRP backup's takeover is exactly such a deadline (Master_Down_Interval,
RFC 5798 6.4.2), and keepalived wakes from its own timerfd.  A timerfd armed
with an absolute CLOCK_MONOTONIC time (the clock of ``loop.time()``) makes
the fd readable at the deadline, to the kernel's timer slack, and epoll
wakes for a readable fd at once.

One timerfd per event loop, shared by all its timers (keepalived: one per
thread master): a heap of deadlines, the fd armed at the earliest.  With 255
VRRP instances at advert_int 1 s, one fd per timer cost a wake-up, an
asyncio dispatch, a read and a timerfd_settime per advert; shared, every
timer due at a wake-up runs in that one wake-up and the fd is re-armed once,
after them (docs/performance.md, footprint).  Where timerfd is missing (not
Linux) the queue uses one ``loop.call_at`` for its earliest deadline.
"""
from __future__ import annotations

import asyncio
import ctypes
import heapq
import math
import os
import time
import weakref
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


class _Queue:
    """The timers of one event loop, in two heaps of ``(time, seq, timer, generation)``: by
    deadline (what is due) and by deadline + slack (when the fd must fire at the latest).

    A wake-up runs every timer whose deadline has passed, so a timer with slack waits for the
    latest moment it allows and shares that wake-up with the timers due by then.  Re-arming
    or cancelling a timer leaves its old entries behind, skipped when they surface (their
    generation is stale); the heaps are rebuilt when stale entries outnumber the live ones
    (a backup re-arms on every advert).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due: list[tuple[float, int, DeadlineTimer, int]] = []  # by deadline
        self._latest: list[tuple[float, int, DeadlineTimer, int]] = []  # by deadline + slack
        self._seq = 0
        self.pending = 0  # timers armed now (their entries are the live ones)
        self._timers = 0  # open DeadlineTimers on this queue
        self._armed = 0.0  # the time the fd (or the call_at) is set to; 0: none
        self._handle: asyncio.TimerHandle | None = None
        self._running = False  # inside _run: it re-arms once at the end
        self.fd = -1
        if _TIMERFD is not None and abs(loop.time() - time.monotonic()) < 1e-3:
            self.fd = _TIMERFD.create()
            loop.add_reader(self.fd, self._expired)

    def push(self, timer: DeadlineTimer, when: float, slack: float) -> None:
        self._seq += 1
        heapq.heappush(self._due, (when, self._seq, timer, timer._generation))
        latest = when + slack
        heapq.heappush(self._latest, (latest, self._seq, timer, timer._generation))
        if len(self._due) > 2 * self.pending + 64:
            self._due = _live(self._due)
            self._latest = _live(self._latest)
        if not self._running and (not self._armed or latest < self._armed):
            self._set(latest)

    def _set(self, when: float) -> None:
        """The kernel (or asyncio) wakes us at ``when``; 0 for never."""
        self._armed = when
        if self.fd >= 0:
            # never 0 (that disarms): a deadline already past fires at once
            _TIMERFD.set_absolute(self.fd, max(1, math.ceil(when * NSEC)) if when else 0)
            return
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._loop.call_at(when, self._run) if when else None

    def _expired(self) -> None:
        try:
            os.read(self.fd, 8)
        except BlockingIOError:  # re-armed after it expired: nothing is due
            return
        self._run()

    def _run(self) -> None:
        """Every timer due now, earliest first; then the fd at the next latest time."""
        self._handle = None
        self._armed = 0.0
        time_now = self._loop.time
        self._running = True
        try:
            while self._due:  # a callback's push may rebuild the heaps: never keep them in a local
                when, _seq, timer, generation = self._due[0]
                if timer._generation != generation or not timer._armed:
                    heapq.heappop(self._due)
                    continue
                if when > time_now():
                    break
                heapq.heappop(self._due)
                timer._fire()  # may push (re-arm) this or other timers
        finally:
            self._running = False
            if self._timers > 0:  # else a callback closed the last timer: the queue is closed
                self._rearm()

    def _rearm(self) -> None:
        """The fd at the earliest live "latest" time (stale entries on top dropped), or off."""
        latest = self._latest
        while latest and (latest[0][2]._generation != latest[0][3] or not latest[0][2]._armed):
            heapq.heappop(latest)
        if latest:
            self._set(latest[0][0])
        elif self.fd >= 0:
            self._set(0)

    def opened(self) -> None:
        self._timers += 1

    def closed(self) -> None:
        self._timers -= 1
        if self._timers == 0:
            self.close()

    def close(self) -> None:
        _QUEUES.pop(self._loop, None)
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self.fd >= 0:
            self._loop.remove_reader(self.fd)
            os.close(self.fd)
            self.fd = -1


def _live(heap: list[tuple[float, int, DeadlineTimer, int]]) -> list[tuple[float, int, DeadlineTimer, int]]:
    live = [e for e in heap if e[2]._generation == e[3] and e[2]._armed]
    heapq.heapify(live)
    return live


_QUEUES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = weakref.WeakKeyDictionary()


def _queue(loop: asyncio.AbstractEventLoop) -> _Queue:
    queue = _QUEUES.get(loop)
    if queue is None:
        queue = _QUEUES[loop] = _Queue(loop)
    return queue


class DeadlineTimer:
    """``arm(when, callback)`` runs ``callback()`` once at loop time ``when``; ``cancel()`` forgets it.

    Re-arming replaces the pending deadline.  ``when`` is in ``loop.time()``
    seconds, which is CLOCK_MONOTONIC for asyncio's own loops.  All timers of
    a loop share its queue (one timerfd); ``close()`` the last one closes it.
    """

    __slots__ = ("_queue", "_callback", "_generation", "_armed", "when")

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._queue: _Queue | None = _queue(loop or asyncio.get_running_loop())
        self._queue.opened()
        self._callback: Callable[[], None] | None = None
        self._generation = 0
        self._armed = False
        self.when: float | None = None  # the pending deadline

    @property
    def precise(self) -> bool:
        return self._queue is not None and self._queue.fd >= 0

    @property
    def _fd(self) -> int:  # the shared timerfd (tests)
        return self._queue.fd if self._queue is not None else -1

    def arm(self, when: float, callback: Callable[[], None], slack: float = 0.0) -> None:
        """``slack``: the callback may run that much past ``when``, in a wake-up it then shares
        with the other timers due by that time (fewer wake-ups); 0 runs it at ``when``."""
        self._callback = callback
        if self._armed and when == self.when:  # a master re-arms the same deadline after each event
            return
        if not self._armed:
            self._queue.pending += 1
        self._generation += 1
        self._armed = True
        self.when = when
        self._queue.push(self, when, slack)

    def cancel(self) -> None:
        self._callback = None
        if self._armed and self._queue is not None:
            self._queue.pending -= 1
        self._armed = False
        self.when = None
        self._generation += 1

    def close(self) -> None:
        self.cancel()
        if self._queue is not None:
            self._queue.closed()
            self._queue = None

    def _fire(self) -> None:
        self._queue.pending -= 1
        self._armed = False
        self.when = None
        callback, self._callback = self._callback, None
        if callback is not None:
            callback()
