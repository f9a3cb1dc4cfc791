"""DNS_CHECK: one query over UDP; any reply with our id and RCODE 0 (NOERROR) is ok.

The query is built here (RFC 1035 §4.1) so the daemon needs no DNS library::

    id(16) | QR OPCODE AA TC RD RA Z RCODE (16) | QD AN NS AR counts (4x16) | QNAME QTYPE QCLASS
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct

from ..compat.aio import asyncio_timeout
from .base import BaseChecker, CheckResult, Target
from .conn import describe, make_socket, sockaddr

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}


def build_query(qid: int, name: str, qtype: str) -> bytes:
    """A recursion-desired query for ``name``/``qtype`` class IN."""
    labels = [label for label in name.rstrip(".").split(".") if label]
    qname = b"".join(bytes([len(enc)]) + enc for enc in (label.encode("idna") for label in labels)) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", QTYPES[qtype.upper()], 1)


def reply_status(data: bytes, qid: int) -> str | None:
    """None when ``data`` is not a reply to ``qid``; "" for NOERROR; else the reason."""
    if len(data) < 12:
        return None
    rid, flags = struct.unpack("!HH", data[:4])
    if rid != qid or not flags & 0x8000:
        return None
    rcode = flags & 0xF
    return "" if rcode == 0 else f"rcode {rcode}"


class DnsChecker(BaseChecker):
    """keepalived's DNS_CHECK (UDP only)."""

    kind = "DNS_CHECK"

    def __init__(self, target: Target, qtype: str = "SOA", name: str = ".") -> None:
        super().__init__(target)
        self.qtype, self.name = qtype.upper(), name

    def config_key(self) -> tuple:
        return (*super().config_key(), self.qtype, self.name)

    async def check(self) -> CheckResult:
        loop = asyncio.get_running_loop()
        start = loop.time()
        qid = int.from_bytes(os.urandom(2), "big")
        try:
            sock = make_socket(self.target, socket.SOCK_DGRAM)
        except OSError as err:
            return CheckResult(False, describe(err), 0.0)
        try:
            async with asyncio_timeout(self.target.timeout):
                await loop.sock_connect(sock, sockaddr(self.target, self.target.port or 53))
                await loop.sock_sendall(sock, build_query(qid, self.name, self.qtype))
                while (status := reply_status(await loop.sock_recv(sock, 4096), qid)) is None:
                    pass  # a stale or forged datagram: keep waiting for ours
        except (OSError, TimeoutError) as err:
            return CheckResult(False, describe(err), loop.time() - start)
        finally:
            sock.close()
        return CheckResult(not status, status or "NOERROR", loop.time() - start)
