"""SMTP_CHECK: banner 220, ``HELO helo_name`` answered 250, then ``QUIT``."""

from __future__ import annotations

import asyncio

from ..compat.aio import asyncio_timeout
from .base import BaseChecker, CheckResult, Target
from .conn import connect, describe

DEFAULT_HELO = "smtpchecker.keepalived.org"  # keepalived's default helo_name


class SmtpFailure(Exception):
    """The server answered with an unexpected reply."""


async def reply(reader: asyncio.StreamReader, timeout: float) -> int:
    """Read one (possibly multi-line, ``250-...``) SMTP reply; its code."""
    while True:
        async with asyncio_timeout(timeout):
            line = await reader.readline()
        if len(line) < 4 or not line[:3].isdigit():
            raise SmtpFailure(f"bad reply {line[:60]!r}")
        if line[3:4] != b"-":
            return int(line[:3])


class SmtpChecker(BaseChecker):
    """keepalived's SMTP_CHECK conversation."""

    kind = "SMTP_CHECK"

    def __init__(self, target: Target, helo_name: str | None = None) -> None:
        super().__init__(target)
        self.helo_name = helo_name or DEFAULT_HELO

    def config_key(self) -> tuple:
        return (*super().config_key(), self.helo_name)

    async def check(self) -> CheckResult:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            sock = await connect(self.target)
        except (OSError, TimeoutError) as err:
            return CheckResult(False, describe(err), loop.time() - start)
        reader, writer = await asyncio.open_connection(sock=sock)
        timeout = self.target.timeout
        try:
            if (code := await reply(reader, timeout)) != 220:
                raise SmtpFailure(f"banner {code}")
            writer.write(f"HELO {self.helo_name}\r\n".encode())
            if (code := await reply(reader, timeout)) != 250:
                raise SmtpFailure(f"HELO answered {code}")
            writer.write(b"QUIT\r\n")
            async with asyncio_timeout(timeout):
                await writer.drain()
        except (OSError, TimeoutError, SmtpFailure) as err:
            return CheckResult(False, describe(err), loop.time() - start)
        finally:
            writer.transport.abort()
        return CheckResult(True, "ok", loop.time() - start)
