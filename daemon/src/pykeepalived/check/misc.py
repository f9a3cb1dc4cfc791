"""MISC_CHECK: run ``misc_path`` WITHOUT a shell; its exit status is the verdict.

exit 0 ok, 1 fail; with ``misc_dynamic`` 2..255 is ok with weight = status - 2.
``misc_timeout`` kills the script's whole process group (it runs in its own
session), so a script that forked helpers leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from ..compat.aio import asyncio_timeout
from .base import BaseChecker, CheckResult, Target


class MiscChecker(BaseChecker):
    """keepalived's MISC_CHECK."""

    kind = "MISC_CHECK"

    def __init__(self, argv: tuple[str, ...], timeout: float, dynamic: bool = False,
                 user: str | None = None, group: str | None = None, target: Target | None = None) -> None:
        super().__init__(target)  # type: ignore[arg-type]  # a script has no network target
        self.argv, self.timeout, self.dynamic, self.user, self.group = argv, timeout, dynamic, user, group

    def config_key(self) -> tuple:
        return (self.kind, self.argv, self.timeout, self.dynamic, self.user, self.group)

    def __repr__(self) -> str:
        return f"<MISC_CHECK {' '.join(self.argv)}>"

    async def check(self) -> CheckResult:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
                user=self.user, group=self.group)
        except (OSError, ValueError, KeyError) as err:
            return CheckResult(False, f"cannot run {self.argv[0]}: {err}", loop.time() - start)
        try:
            async with asyncio_timeout(self.timeout):
                status = await proc.wait()
        except TimeoutError:
            kill_group(proc.pid)
            await proc.wait()
            return CheckResult(False, f"timeout after {self.timeout:g}s", loop.time() - start)
        except asyncio.CancelledError:
            kill_group(proc.pid)
            raise
        latency = loop.time() - start
        if status == 0:
            return CheckResult(True, "exit 0", latency)
        if self.dynamic and 2 <= status <= 255:
            return CheckResult(True, f"exit {status}", latency, weight=status - 2)
        if status < 0:
            return CheckResult(False, f"killed by signal {-status}", latency)
        return CheckResult(False, f"exit {status}", latency)


def kill_group(pgid: int) -> None:
    """SIGKILL the script's process group (our child's session; never anything else)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
