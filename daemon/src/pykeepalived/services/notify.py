"""Notify scripts, run WITHOUT a shell (asyncio.create_subprocess_exec).

keepalived's contract: ``notify_master`` / ``notify_backup`` /
``notify_fault`` / ``notify_stop`` run as written; the generic ``notify``
gets four more arguments: ``INSTANCE``|``GROUP``, the name, the new state
(``MASTER``, ``BACKUP``, ``FAULT``, ``STOP``) and the priority.
Scripts run in the background; a state change never waits for them.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

from ..compat.aio import TIMEOUT_ERRORS
from ..config.model_vrrp import Notify, Script

log = logging.getLogger("pykeepalived.core.notify")  # the name from before services/ (log filters)

SCRIPT_FOR_STATE = {"MASTER": "notify_master", "BACKUP": "notify_backup",
                    "FAULT": "notify_fault", "STOP": "notify_stop", "DELETED": "notify_deleted"}


async def run_script(argv: tuple[str, ...], timeout: float | None = None, *,
                     user: str | None = None, group: str | None = None) -> int | None:
    """Run ``argv`` (as ``user``/``group`` when given: setuid/setgid in the child, asyncio's
    ``user=``/``group=``); its exit status, or None when it could not run or timed out.
    A timed-out script is killed with its whole process group (it leads its own session)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, start_new_session=True, user=user, group=group)
    except (OSError, KeyError, ValueError) as err:  # KeyError/ValueError: unknown user or group
        log.error("cannot run %s%s: %s", argv[0], f" as {user}" if user else "", err)
        return None
    try:
        return await asyncio.wait_for(proc.wait(), timeout)
    except (*TIMEOUT_ERRORS, asyncio.CancelledError):
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # its group: our child's session, by its pid
            await proc.wait()
        return None


class Notifier:
    """Starts notify scripts in the background and keeps their tasks until they end."""

    def __init__(self, script_user: tuple[str, ...] = ()) -> None:
        self._tasks: set[asyncio.Task] = set()
        self.script_user = script_user  # global_defs script_user: the default USER [GROUP]

    def spawn(self, argv: tuple[str, ...], script: Script | None = None) -> None:
        from .security import run_as  # noqa: PLC0415

        user, group = run_as(script, self.script_user)
        task = asyncio.get_running_loop().create_task(run_script(argv, user=user, group=group))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def state_changed(self, notify: Notify, kind: str, name: str, state: str, priority: int) -> None:
        """Run the per-state script, then ``notify`` with keepalived's four arguments."""
        specific: Script | None = getattr(notify, SCRIPT_FOR_STATE[state])
        if specific is not None:
            self.spawn(specific.argv, specific)
        if notify.notify is not None:
            self.spawn((*notify.notify.argv, kind, name, state, str(priority)), notify.notify)

    async def wait_running(self, timeout: float = 5.0) -> None:
        """Wait (bounded) for running scripts, e.g. notify_stop at exit."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
