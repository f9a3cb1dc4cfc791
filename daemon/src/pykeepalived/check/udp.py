"""UDP_CHECK: send one datagram, then judge the answer (or its absence) within connect_timeout.

keepalived's rules (keepalived.conf(5), "UDP healthchecker"):

* the datagram is ``payload`` (hex), else 32 arbitrary bytes;
* an ICMP error (port, host or net unreachable) fails the check; the socket
  asks for them with IP_RECVERR so host/net unreachable count too, not only
  the "hard" port unreachable a connected UDP socket always reports;
* no ``require_reply``: silence until connect_timeout is success (a UDP
  service need not answer); with it, a reply must come, its length within
  ``min_reply_length``..``max_reply_length`` and, when a pattern is given,
  equal to it over the shorter of the two (``x`` nibbles match anything).

The kernel rate-limits ICMP errors to a peer (about one a second after a
burst of six; loopback is exempt), so a retry sooner than that after a
failure may meet silence and count as success when no reply is required.
"""

from __future__ import annotations

import asyncio
import os
import socket

from ..compat.aio import TIMEOUT_ERRORS, asyncio_timeout
from .base import BaseChecker, CheckResult, Target
from .conn import describe, make_socket, sockaddr

DEFAULT_PAYLOAD_SIZE = 32  # keepalived's UDP_BUFSIZE
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
IPV6_RECVERR = getattr(socket, "IPV6_RECVERR", 25)
MAX_DATAGRAM = 65536


def decode_pattern(canonical: str) -> tuple[bytes, bytes]:
    """(data, mask) of a canonical hex pattern (``"ab x1"``); mask bits set = any value."""
    data, mask = bytearray(), bytearray()
    for pair in canonical.split():
        data.append(int(pair.replace("x", "0"), 16))
        mask.append((0xF0 if pair[0] == "x" else 0) | (0x0F if pair[1] == "x" else 0))
    return bytes(data), bytes(mask)


def reply_problem(reply: bytes, pattern: tuple[bytes, bytes], min_len: int, max_len: int) -> str:
    """"" when ``reply`` passes; else why not."""
    if not min_len <= len(reply) <= max_len:
        return f"reply of {len(reply)} bytes, outside {min_len}..{max_len}"
    data, mask = pattern
    for i, (got, want, ignore) in enumerate(zip(reply, data, mask)):
        if (got ^ want) & ~ignore & 0xFF:
            return f"reply differs at byte {i}: {got:02x}"
    return ""


class UdpChecker(BaseChecker):
    """keepalived's UDP_CHECK; ``require`` None: no reply needed, else a (possibly empty) pattern."""

    kind = "UDP_CHECK"

    def __init__(self, target: Target, payload: bytes | None = None, require: str | None = None,
                 min_reply_length: int = 0, max_reply_length: int = 255) -> None:
        super().__init__(target)
        self.payload = payload
        self.require = require
        self.pattern = decode_pattern(require or "")
        self.min_len, self.max_len = min_reply_length, max_reply_length

    def config_key(self) -> tuple:
        return (*super().config_key(), self.payload, self.require, self.min_len, self.max_len)

    async def check(self) -> CheckResult:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            sock = make_socket(self.target, socket.SOCK_DGRAM)
        except OSError as err:
            return CheckResult(False, describe(err), 0.0)
        try:
            if self.target.ip.version == 6:
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
            async with asyncio_timeout(self.target.timeout):
                await loop.sock_connect(sock, sockaddr(self.target))
                await loop.sock_sendall(sock, self.payload or os.urandom(DEFAULT_PAYLOAD_SIZE))
                reply = await loop.sock_recv(sock, MAX_DATAGRAM)
        except TIMEOUT_ERRORS:
            if self.require is None:
                return CheckResult(True, "no ICMP error", loop.time() - start)
            return CheckResult(False, "no reply", loop.time() - start)
        except OSError as err:
            return CheckResult(False, describe(err), loop.time() - start)
        finally:
            sock.close()
        problem = "" if self.require is None else reply_problem(reply, self.pattern, self.min_len, self.max_len)
        return CheckResult(not problem, problem or "reply", loop.time() - start)
