"""Notify scripts, run WITHOUT a shell (asyncio.create_subprocess_exec).

keepalived's contract: ``notify_master`` / ``notify_backup`` /
``notify_fault`` / ``notify_stop`` run as written; the generic ``notify``
gets four more arguments: ``INSTANCE``|``GROUP``, the name, the new state
(``MASTER``, ``BACKUP``, ``FAULT``, ``STOP``) and the priority.
Scripts run in the background; a state change never waits for them.
"""
from __future__ import annotations

import asyncio
import logging

from ..config.model_vrrp import Notify, Script

log = logging.getLogger(__name__)

SCRIPT_FOR_STATE = {"MASTER": "notify_master", "BACKUP": "notify_backup",
                    "FAULT": "notify_fault", "STOP": "notify_stop"}


async def run_script(argv: tuple[str, ...], timeout: float | None = None) -> int | None:
    """Run ``argv``; its exit status, or None when it could not run or timed out (then killed)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, start_new_session=True)
    except OSError as err:
        log.error("cannot run %s: %s", argv[0], err)
        return None
    try:
        return await asyncio.wait_for(proc.wait(), timeout)
    except (TimeoutError, asyncio.CancelledError):
        if proc.returncode is None:
            proc.kill()  # our own child, by its pid
            await proc.wait()
        return None


class Notifier:
    """Starts notify scripts in the background and keeps their tasks until they end."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, argv: tuple[str, ...]) -> None:
        task = asyncio.get_running_loop().create_task(run_script(argv))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def state_changed(self, notify: Notify, kind: str, name: str, state: str, priority: int) -> None:
        """Run the per-state script, then ``notify`` with keepalived's four arguments."""
        specific: Script | None = getattr(notify, SCRIPT_FOR_STATE[state])
        if specific is not None:
            self.spawn(specific.argv)
        if notify.notify is not None:
            self.spawn((*notify.notify.argv, kind, name, state, str(priority)))

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait (bounded) for running scripts, e.g. notify_stop at exit."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
