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

EPOLLIN, EPOLLOUT = select.EPOLLIN, select.EPOLLOUT
FAILED = select.EPOLLERR | select.EPOLLHUP


class Poller:
    """The checkers' epoll on one event loop (:func:`poller_for`)."""

    __slots__ = ("epoll", "watchers", "__weakref__")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.epoll = select.epoll()
        self.watchers: dict[int, object] = {}
        loop.add_reader(self.epoll.fileno(), self._dispatch)

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
    """The loop's poller, made at first use; it goes (and its epoll is closed) with the loop."""
    if _last[0] is loop:
        return _last[1]
    poller = _POLLERS.get(loop)
    if poller is None:
        poller = _POLLERS[loop] = Poller(loop)
    _last[0], _last[1] = loop, poller  # holds that one loop until another asks
    return poller
