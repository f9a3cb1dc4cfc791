"""UDP_CHECK against real UDP servers on loopback; the reply rules as pure functions."""

from __future__ import annotations

import asyncio
import socket

import pytest

from pykeepalived.check.udp import UdpChecker, decode_pattern, reply_problem

from .helpers import aio, free_port, has_ipv6_loopback, target


class Echo(asyncio.DatagramProtocol):
    """A real UDP server: answers each datagram with ``answer(data)`` (None: stays silent)."""

    def __init__(self, answer=lambda data: data) -> None:
        self.answer, self.received = answer, []

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data, addr) -> None:
        self.received.append(data)
        reply = self.answer(data)
        if reply is not None:
            self.transport.sendto(reply, addr)


async def serve(answer=lambda data: data):
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(lambda: Echo(answer), local_addr=("127.0.0.1", 0))
    return transport, proto, transport.get_extra_info("sockname")[1]


def test_pattern_wildcards_and_prefix_rule():
    pattern = decode_pattern("ab x1 2x")
    assert pattern == (bytes([0xAB, 0x01, 0x20]), bytes([0x00, 0xF0, 0x0F]))
    assert reply_problem(bytes([0xAB, 0x71, 0x2E, 0x99]), pattern, 0, 255) == ""
    assert reply_problem(bytes([0xAB]), pattern, 0, 255) == ""  # compared over the shorter of the two
    assert reply_problem(bytes([0xAB, 0x72]), pattern, 0, 255) == "reply differs at byte 1: 72"
    assert reply_problem(b"", decode_pattern(""), 1, 255) == "reply of 0 bytes, outside 1..255"
    assert reply_problem(b"x" * 256, decode_pattern(""), 0, 255) == "reply of 256 bytes, outside 0..255"


@aio
async def test_payload_sent_and_reply_matched():
    transport, proto, port = await serve()
    try:
        checker = UdpChecker(target(port), payload=b"\x01\x02ping", require="01 02 70")
        result = await checker.check()
        assert result.ok, result.reason
        assert proto.received == [b"\x01\x02ping"]
        wrong = await UdpChecker(target(port), payload=b"\x01\x03", require="01 02").check()
        assert not wrong.ok and wrong.reason == "reply differs at byte 1: 03"
    finally:
        transport.close()


@aio
async def test_default_payload_is_32_bytes_and_any_reply_will_do():
    transport, proto, port = await serve(lambda data: b"pong")
    try:
        assert (await UdpChecker(target(port), require="").check()).ok
        assert len(proto.received[0]) == 32
        too_short = await UdpChecker(target(port), require="", min_reply_length=5).check()
        assert not too_short.ok and "outside 5..255" in too_short.reason
    finally:
        transport.close()


@aio
async def test_port_unreachable_is_down_silence_is_up_unless_a_reply_is_required():
    closed = free_port(kind=socket.SOCK_DGRAM)
    refused = await UdpChecker(target(closed)).check()
    assert not refused.ok and refused.reason == "Connection refused"
    transport, _proto, port = await serve(lambda data: None)  # a real server that never answers
    try:
        silent = await UdpChecker(target(port, timeout=0.2)).check()
        assert silent.ok and silent.reason == "no ICMP error"
        required = await UdpChecker(target(port, timeout=0.2), require="").check()
        assert not required.ok and required.reason == "no reply"
    finally:
        transport.close()


def test_compare_covers_the_udp_options():
    a = UdpChecker(target(53), b"\x01", "01", 0, 255)
    assert a.compare(UdpChecker(target(53), b"\x01", "01", 0, 255))
    assert not a.compare(UdpChecker(target(53), b"\x01", "02", 0, 255))
    assert not a.compare(UdpChecker(target(53), b"\x01", "01", 0, 100))


@aio
async def test_ipv6_port_unreachable_is_down():
    if not has_ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    closed = free_port("::1", socket.SOCK_DGRAM)
    result = await UdpChecker(target(closed, host="::1")).check()
    assert not result.ok and result.reason == "Connection refused"
