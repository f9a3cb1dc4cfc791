"""check/poller.py with real sockets: every ready socket in one turn, and no stale event for a
socket number closed and reused within the same batch."""

from __future__ import annotations

import asyncio
import socket

from pykeepalived.check.poller import EPOLLOUT, poller_for

from .helpers import aio


class Watcher:
    def __init__(self, sock: socket.socket, action=None) -> None:
        self.sock, self.action, self.events = sock, action, []

    def on_event(self, events: int) -> None:
        if self.sock is None:
            return
        self.events.append(events)
        if self.action is not None:
            self.action()


@aio
async def test_more_ready_sockets_than_epoll_default_batch_are_all_handed_over_at_once():
    loop = asyncio.get_running_loop()
    poller = poller_for(loop)
    pairs = [socket.socketpair() for _ in range(1100)]  # poll()'s default maxevents is 1023
    try:
        watchers = [Watcher(a) for a, _b in pairs]
        for w in watchers:
            poller.watch(w.sock.fileno(), EPOLLOUT, w)
        poller._dispatch()  # one turn: what the loop calls when the epoll is readable
        assert sum(1 for w in watchers if w.events) == len(watchers)
    finally:
        for a, b in pairs:
            poller.forget(a.fileno())
            a.close()
            b.close()


@aio
async def test_an_event_of_a_socket_closed_in_the_batch_never_reaches_its_number_s_new_owner():
    loop = asyncio.get_running_loop()
    poller = poller_for(loop)
    pairs = [socket.socketpair(), socket.socketpair()]
    watchers = [Watcher(a) for a, _b in pairs]
    reused: list[Watcher] = []

    def close_the_other_and_reuse_its_number(me: Watcher) -> None:
        """The first watcher of the batch finishes the other one, whose number a new socket takes."""
        if reused:
            return
        other = watchers[1 - watchers.index(me)]
        fd = other.sock.fileno()
        poller.forget(fd)
        other.sock.close()
        other.sock = None  # finished, as an attempt is after _release
        fresh = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        assert fresh.fileno() == fd  # the lowest free number: the other's
        reused.append(Watcher(fresh))
        poller.watch(fd, EPOLLOUT, reused[0])

    for w in watchers:
        w.action = lambda w=w: close_the_other_and_reuse_its_number(w)
        poller.watch(w.sock.fileno(), EPOLLOUT, w)
    try:
        poller._dispatch()
        assert reused and sum(1 for w in watchers if w.events) == 1
        assert not reused[0].events  # the closed socket's event of this batch went to its finished watcher
        poller._dispatch()
        assert reused[0].events  # the new socket's own event, next turn
    finally:
        for s in [w.sock for w in watchers + reused if w.sock is not None] + [b for _a, b in pairs]:
            poller.forget(s.fileno())
            s.close()


class Pending:
    """An attempt in flight until ``sock`` is set to None; records when its timeout came."""

    def __init__(self, loop, name: str, fired: list) -> None:
        self.loop, self.name, self.fired, self.sock = loop, name, fired, object()

    def on_timeout(self) -> None:
        self.sock = None
        self.fired.append((self.name, self.loop.time()))


@aio
async def test_deadlines_of_several_timeouts_fire_in_time_and_skip_finished_attempts():
    loop = asyncio.get_running_loop()
    poller = poller_for(loop)
    fired: list = []
    t0 = loop.time()
    plan = [("slow-a", 0.30), ("fast-a", 0.10), ("done", 0.10), ("fast-b", 0.15), ("slow-b", 0.35)]
    attempts = {}
    for name, after in plan:  # starts never go back in time; a FIFO per timeout value (0.3 and 0.1)
        timeout = 0.3 if name.startswith("slow") else 0.1
        attempts[name] = Pending(loop, name, fired)
        poller.expire_at(t0 + after, timeout, attempts[name])
    attempts["done"].sock = None  # finished in time: never timed out
    await asyncio.sleep(0.5)
    assert [name for name, _at in fired] == ["fast-a", "fast-b", "slow-a", "slow-b"]
    for name, at in fired:
        due = t0 + dict(plan)[name]
        assert at >= due, (name, at - due)  # never early
    assert poller.timer is None  # nothing left to wait for
