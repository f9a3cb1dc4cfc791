"""Link state for track_interface: polls netlink and reports up/down changes.

keepalived listens to RTM_NEWLINK events; a poll of one link dump every
``period`` (0.2 s) is simpler, costs one netlink round trip per period for
all interfaces, and bounds the reaction time well below any
Master_Down_Interval.  A link is up when IFF_UP and IFF_RUNNING are set
(carrier present).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from pyroute2 import AsyncIPRoute

log = logging.getLogger(__name__)

IFF_UP, IFF_RUNNING = 0x1, 0x40


def is_up(flags: int) -> bool:
    return flags & (IFF_UP | IFF_RUNNING) == IFF_UP | IFF_RUNNING


class LinkWatcher:
    """Calls ``callback(up)`` for each watched interface whose state changes."""

    def __init__(self, period: float = 0.2) -> None:
        self.period = period
        self.state: dict[str, bool] = {}
        self._listeners: dict[str, list[Callable[[bool], None]]] = {}
        self._task: asyncio.Task | None = None

    def watch(self, ifname: str, callback: Callable[[bool], None]) -> None:
        self._listeners.setdefault(ifname, []).append(callback)

    async def poll(self) -> None:
        """One dump; report changes (the first sight of a link counts as a change if down)."""
        async with AsyncIPRoute() as ipr:
            links = {m.get("ifname"): is_up(m["flags"]) async for m in await ipr.link("dump")}
        for ifname, callbacks in self._listeners.items():
            up = links.get(ifname, False)
            if self.state.get(ifname, True) != up:
                log.info("interface %s is %s", ifname, "up" if up else "down")
                for callback in callbacks:
                    callback(up)
            self.state[ifname] = up

    def start(self) -> None:
        if self._listeners:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                await self.poll()
            except OSError as err:
                log.warning("link poll failed: %s", err)
            await asyncio.sleep(self.period)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
