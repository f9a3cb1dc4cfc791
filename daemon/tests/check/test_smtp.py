"""SMTP_CHECK against a real aiosmtpd server running in the test's event loop."""

from __future__ import annotations

import asyncio

from aiosmtpd.smtp import SMTP

from pykeepalived.check.smtp import DEFAULT_HELO, SmtpChecker

from .helpers import aio, free_port, port_of, target


class Handler:
    def __init__(self, reply: str | None = None) -> None:
        self.reply, self.helos = reply, []

    async def handle_HELO(self, server, session, envelope, hostname):
        self.helos.append(hostname)
        session.host_name = hostname
        return self.reply or f"250 {server.hostname}"


async def smtp_server(handler: Handler) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: SMTP(handler, hostname="mx.test"), "127.0.0.1", 0)


async def banner_server(banner: bytes | None) -> asyncio.Server:
    """Sends ``banner`` then waits; None: never says anything (a stalled server)."""
    async def handle(reader, writer):
        if banner:
            writer.write(banner)
        try:
            await reader.read()
        finally:
            writer.close()
    return await asyncio.start_server(handle, "127.0.0.1", 0)


@aio
async def test_up_default_helo():
    handler = Handler()
    server = await smtp_server(handler)
    async with server:
        result = await SmtpChecker(target(port_of(server))).check()
    assert result.ok, result.reason
    assert handler.helos == [DEFAULT_HELO]


@aio
async def test_up_custom_helo_name():
    handler = Handler()
    server = await smtp_server(handler)
    async with server:
        assert (await SmtpChecker(target(port_of(server)), "lb1.example.test").check()).ok
    assert handler.helos == ["lb1.example.test"]


@aio
async def test_down_helo_rejected():
    server = await smtp_server(Handler("550 go away"))
    async with server:
        result = await SmtpChecker(target(port_of(server))).check()
    assert not result.ok and "550" in result.reason


@aio
async def test_down_bad_banner_and_multiline_ok_banner():
    server = await banner_server(b"554 busy\r\n")
    async with server:
        assert not (await SmtpChecker(target(port_of(server))).check()).ok
    assert not (await SmtpChecker(target(free_port())).check()).ok


@aio
async def test_slow_banner_times_out():
    server = await banner_server(None)
    async with server:
        result = await SmtpChecker(target(port_of(server), timeout=0.3)).check()
    assert not result.ok and result.reason == "timeout"
