"""TCP_CHECK against real loopback listeners (IPv4 and IPv6)."""

import asyncio
import socket

import pytest

from pykeepalived.check.tcp import TcpChecker

from .helpers import aio, free_port, has_ipv6_loopback, port_of, target


async def listener(host="127.0.0.1"):
    return await asyncio.start_server(lambda r, w: w.close(), host, 0)


@aio
async def test_up_when_listening():
    server = await listener()
    async with server:
        result = await TcpChecker(target(port_of(server))).check()
    assert result.ok, result.reason


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no ::1")
@aio
async def test_up_ipv6_with_bindto_and_bind_port():
    import ipaddress
    server = await listener("::1")
    async with server:
        src = free_port("::1")
        result = await TcpChecker(target(port_of(server), "::1", bindto=ipaddress.ip_address("::1"), bind_port=src)).check()
    assert result.ok, result.reason


@aio
async def test_down_when_nothing_listens():
    result = await TcpChecker(target(free_port())).check()
    assert not result.ok and "refused" in result.reason.lower()


@aio
async def test_slow_connect_times_out():
    # A listener with a full backlog: SYNs are dropped, so connect() stalls.
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        fillers = []
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        await asyncio.sleep(0.05)
        result = await TcpChecker(target(port, timeout=0.3)).check()
        for s in fillers:
            s.close()
    assert not result.ok and result.reason == "timeout"
    assert 0.25 < result.latency < 1.5


def test_compare_same_config_only():
    assert TcpChecker(target(80)).compare(TcpChecker(target(80)))
    assert not TcpChecker(target(80)).compare(TcpChecker(target(81)))
    assert not TcpChecker(target(80)).compare(TcpChecker(target(80, timeout=2)))


@aio
async def test_start_measures_latency_from_the_callers_clock_reading():
    # The scheduler hands in the time it already read; the attempt must not read it again to start.
    server = await listener()
    loop = asyncio.get_running_loop()
    got = loop.create_future()
    async with server:
        TcpChecker(target(port_of(server))).start(loop, got.set_result, loop.time() - 5.0)
        result = await got
    assert result.ok and 5.0 <= result.latency < 6.0, result


def test_sockets_are_non_blocking_from_creation():
    from pykeepalived.check.conn import make_socket

    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with make_socket(target(80), kind) as sock:
            assert sock.getblocking() is False and sock.gettimeout() == 0.0
            assert sock.type == kind  # the flag is not left in the reported type
