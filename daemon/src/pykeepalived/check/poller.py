"""One epoll of the checkers' own, watched by the event loop as a single reader.

asyncio's ``add_writer``/``remove_writer``/``add_reader`` cost, per check, a
Handle, a selector key looked up two or three times, and an epoll_ctl each;
in a user-mode-linux guest every syscall traps.  The callback checkers
(TCP_CHECK, HTTP_GET) register their socket here instead: one epoll_ctl ADD,
an epoll_ctl MOD when HTTP turns from sending to reading, and none to
remove (close(2) takes a socket out of the epoll set by itself).  When
several sockets are ready at one wake-up, one epoll_wait(2) of ours hands
them all over.

A watcher is any object with ``on_event(events)`` that ignores events once
it is finished: every watcher of a batch is looked up before any runs, so an
event of a socket closed (and its number reused) earlier in the same batch
reaches the finished attempt, never the new one.
"""

from __future__ import annotations

import asyncio
import select
import weakref
from collections import deque

EPOLLIN, EPOLLOUT = select.EPOLLIN, select.EPOLLOUT
FAILED = select.EPOLLERR | select.EPOLLHUP


class Poller:
    """The checkers' epoll on one event loop (:func:`poller_for`), and their connect deadlines."""

    __slots__ = ("loop", "epoll", "watchers", "queues", "timer", "armed_at", "__weakref__")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.epoll = select.epoll()
        self.watchers: dict[int, object] = {}
        # deadlines: one FIFO per timeout value; as every attempt's deadline is its start (the
        # scheduler's clock, which never goes back) + that timeout, each FIFO is in deadline order
        self.queues: dict[float, deque] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.armed_at = 0.0
        loop.add_reader(self.epoll.fileno(), self._dispatch)

    def expire_at(self, deadline: float, timeout: float, watcher) -> None:
        """Call ``watcher.on_timeout()`` at ``deadline`` unless it is finished by then (``watcher.sock``
        None): one timer for all attempts instead of a TimerHandle armed and cancelled for each."""
        queue = self.queues.get(timeout)
        if queue is None:
            queue = self.queues[timeout] = deque()
        queue.append((deadline, watcher))
        if self.timer is None or deadline < self.armed_at:
            self._arm(deadline)

    def _arm(self, deadline: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer, self.armed_at = self.loop.call_at(deadline, self._expire), deadline

    def _expire(self) -> None:
        self.timer = None
        now = self.loop.time()
        due: list = []
        earliest = None
        for queue in self.queues.values():
            while queue:
                deadline, watcher = queue[0]
                if watcher.sock is None:  # finished in time: forget it
                    queue.popleft()
                elif deadline <= now:
                    queue.popleft()
                    due.append(watcher)
                else:
                    if earliest is None or deadline < earliest:
                        earliest = deadline
                    break
        if earliest is not None:
            self._arm(earliest)
        for watcher in due:
            watcher.on_timeout()

    def watch(self, fd: int, events: int, watcher) -> None:
        self.epoll.register(fd, events)
        self.watchers[fd] = watcher

    def change(self, fd: int, events: int) -> None:
        self.epoll.modify(fd, events)

    def forget(self, fd: int) -> None:
        """Before the socket is closed (the close is what takes it out of the epoll set)."""
        self.watchers.pop(fd, None)

    def _dispatch(self) -> None:
        get = self.watchers.get
        # every ready socket at once, as asyncio's selector does: one left for the next turn of the
        # loop would meet its timeout timer, run in this turn after us, first (poll's default is 1023)
        ready = self.epoll.poll(0, max(len(self.watchers), 1))
        for watcher, events in [(get(fd), events) for fd, events in ready]:
            if watcher is not None:
                watcher.on_event(events)


_POLLERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


_last: list = [None, None]  # (loop, poller) of the last call: the daemon runs one loop


def poller_for(loop: asyncio.AbstractEventLoop) -> Poller:
    """The loop's poller, made at first use; it goes (and its epoll is closed) with the loop, once
    another loop has asked (the last loop asked for is kept, to skip the weak lookup per check)."""
    if _last[0] is loop:
        return _last[1]
    poller = _POLLERS.get(loop)
    if poller is None:
        poller = _POLLERS[loop] = Poller(loop)
    _last[0], _last[1] = loop, poller  # holds that one loop until another asks
    return poller
