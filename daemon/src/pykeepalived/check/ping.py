"""PING_CHECK: one ICMP / ICMPv6 echo request; an echo reply from the target is ok.

An unprivileged ICMP socket (``SOCK_DGRAM``, allowed by net.ipv4.ping_group_range)
is tried first, then a raw socket (root).  Raw IPv4 sockets deliver the IP header
and every ICMP packet on the host, so replies are matched on source, id and seq::

    type(8) code(8) checksum(16) | identifier(16) sequence(16) | payload
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import struct

from ..compat.aio import asyncio_timeout, sock_recvfrom, sock_sendto
from .base import BaseChecker, CheckResult
from .conn import describe, make_socket

ECHO_REQUEST = {4: 8, 6: 128}
ECHO_REPLY = {4: 0, 6: 129}
_seq = itertools.count(1)


def checksum(data: bytes) -> int:
    """RFC 1071 internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(version: int, ident: int, seq: int, payload: bytes) -> bytes:
    """An echo request; the kernel fills the ICMPv6 checksum (it needs the pseudo-header)."""
    head = struct.pack("!BBHHH", ECHO_REQUEST[version], 0, 0, ident, seq)
    if version == 6:
        return head + payload
    return struct.pack("!BBHHH", 8, 0, checksum(head + payload), ident, seq) + payload


def parse_reply(version: int, data: bytes, raw: bool) -> tuple[int, int, bytes] | None:
    """(id, seq, payload) of an echo reply, None for anything else."""
    if raw and version == 4:
        data = data[(data[0] & 0x0F) * 4:] if data else b""
    if len(data) < 8 or data[0] != ECHO_REPLY[version]:
        return None
    ident, seq = struct.unpack("!HH", data[4:8])
    return ident, seq, data[8:]


def open_icmp(checker: PingChecker) -> tuple[socket.socket, bool]:
    """An ICMP socket for the target's family: (socket, is_raw)."""
    proto = socket.IPPROTO_ICMPV6 if checker.target.ip.version == 6 else socket.IPPROTO_ICMP
    try:
        return make_socket(checker.target, socket.SOCK_DGRAM, proto), False
    except PermissionError:
        return make_socket(checker.target, socket.SOCK_RAW, proto), True


class PingChecker(BaseChecker):
    """keepalived's PING_CHECK."""

    kind = "PING_CHECK"

    async def check(self) -> CheckResult:
        loop = asyncio.get_running_loop()
        start = loop.time()
        version = self.target.ip.version
        seq = next(_seq) & 0xFFFF
        ident = os.getpid() & 0xFFFF
        payload = os.urandom(16)
        try:
            sock, raw = open_icmp(self)
        except OSError as err:
            return CheckResult(False, describe(err), 0.0)
        try:
            async with asyncio_timeout(self.target.timeout):
                await sock_sendto(loop, sock, echo_request(version, ident, seq, payload), (str(self.target.ip), 0))
                while True:
                    data, addr = await sock_recvfrom(loop, sock, 2048)
                    reply = parse_reply(version, data, raw)
                    # A ping socket rewrites the id, so match on seq and payload there.
                    if (reply and addr[0] == str(self.target.ip) and reply[1] == seq and reply[2] == payload
                            and (not raw or reply[0] == ident)):
                        break
        except (OSError, TimeoutError) as err:
            return CheckResult(False, describe(err), loop.time() - start)
        finally:
            sock.close()
        return CheckResult(True, "echo reply", loop.time() - start)
