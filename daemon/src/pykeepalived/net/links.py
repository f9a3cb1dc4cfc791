"""Link state for track_interface, from rtnetlink link events (RTMGRP_LINK).

keepalived listens to RTM_NEWLINK / RTM_DELLINK; so do we: one plain
NETLINK_ROUTE socket joined to the link group, read by the event loop, so a
carrier loss is seen when the kernel reports it and an idle daemon does no
work at all.  One link dump gives the state at start, and again
whenever the socket overflowed (ENOBUFS: events were lost).  A link is up
when IFF_UP and IFF_RUNNING are set (carrier present); a deleted link is down.

``parse_links`` is pure (byte vectors in tests/net/test_links.py); the
messages are read with net/rtnl.py (no pyroute2 in the VRRP process).
"""
from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable

from . import rcvbuf, rtnl

log = logging.getLogger(__name__)

IFF_UP, IFF_RUNNING = 0x1, 0x40
RTMGRP_LINK = 0x1


def is_up(flags: int) -> bool:
    return flags & (IFF_UP | IFF_RUNNING) == IFF_UP | IFF_RUNNING


def parse_links(data: bytes) -> list[tuple[str, bool]]:
    """(ifname, up) for every RTM_NEWLINK / RTM_DELLINK in ``data`` (a deleted link is down)."""
    return [(link.name, not link.deleted and is_up(link.flags)) for link in rtnl.parse_links(data)]


class LinkWatcher:
    """Calls ``callback(up)`` for each watched interface whose state changes."""

    def __init__(self) -> None:
        self.state: dict[str, bool] = {}
        self._listeners: dict[str, list[Callable[[bool], None]]] = {}
        self._sock: socket.socket | None = None
        self._pending: asyncio.Handle | None = None  # a (re)sync dump, next loop round
        self.rcv_bufs: tuple[int, bool] | None = None  # global_defs vrrp_netlink_monitor_rcv_bufs[_force]

    def set_rcv_bufs(self, setting: tuple[int, bool] | None) -> None:
        """keepalived's nl_kernel size; applied now to an open socket (a reload), else at start."""
        if setting != self.rcv_bufs:
            self.rcv_bufs = setting
            if self._sock is not None:
                rcvbuf.apply(self._sock, setting, "vrrp_netlink_monitor_rcv_bufs")

    def watch(self, ifname: str, callback: Callable[[bool], None]) -> Callable[[], None]:
        """Subscribe; returns the unsubscribe (a reload's replaced instance must not stay
        reachable from here: each one held its whole model, issue 16)."""
        self._listeners.setdefault(ifname, []).append(callback)

        def unwatch() -> None:
            callbacks = self._listeners.get(ifname, [])
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks:  # nobody watches it: its state is no longer kept up to date
                self._listeners.pop(ifname, None)
                self.state.pop(ifname, None)
        return unwatch

    def _report(self, ifname: str, up: bool) -> None:
        callbacks = self._listeners.get(ifname)
        if callbacks is None:
            return
        if self.state.get(ifname, True) != up:  # the first sight counts as a change if down
            log.info("interface %s is %s", ifname, "up" if up else "down")
            for callback in list(callbacks):
                callback(up)
        self.state[ifname] = up

    def poll(self) -> None:
        """One dump: the state of every watched link now (at start, and after lost events)."""
        sock = rtnl.AddressSocket()
        try:
            links = dict(parse_links(sock.dump(rtnl.RTM_GETLINK)))
        finally:
            sock.close()
        for ifname in list(self._listeners):
            self._report(ifname, links.get(ifname, False))

    def start(self) -> None:
        """Subscribe to link events first, then dump: no change can fall between the two.
        Called again (a reload added watched links), it dumps once more for the new ones."""
        if not self._listeners:
            return
        if self._sock is None:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
            sock.bind((0, RTMGRP_LINK))
            sock.setblocking(False)
            rcvbuf.apply(sock, self.rcv_bufs, "vrrp_netlink_monitor_rcv_bufs")
            self._sock = sock
            asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        self._resync()

    def _resync(self) -> None:
        """A dump in the next loop round (after the subscription is in place); one at a time."""
        if self._pending is None:
            self._pending = asyncio.get_running_loop().call_soon(self._dump)

    def _dump(self) -> None:
        self._pending = None
        try:
            self.poll()
        except OSError as err:
            log.warning("link dump failed: %s", err)

    def _readable(self) -> None:
        while self._sock is not None:
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                return
            except OSError as err:
                if err.errno == errno.ENOBUFS:  # the kernel dropped events: ask for the whole state
                    log.warning("link events overflowed: re-reading every link")
                    self._resync()
                    continue
                log.warning("link events: %s", err)
                return
            for ifname, up in parse_links(data):
                self._report(ifname, up)

    async def stop(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
