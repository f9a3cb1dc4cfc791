"""TCP_CHECK: the real server is alive when a TCP connection completes within connect_timeout."""

from __future__ import annotations

import asyncio

from .base import BaseChecker, CheckResult
from .conn import connect, describe


class TcpChecker(BaseChecker):
    """keepalived's TCP_CHECK: connect, then close (nothing is sent)."""

    kind = "TCP_CHECK"

    async def check(self) -> CheckResult:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            sock = await connect(self.target)
        except (OSError, TimeoutError) as err:
            return CheckResult(False, describe(err), loop.time() - start)
        sock.close()
        return CheckResult(True, "connected", loop.time() - start)
