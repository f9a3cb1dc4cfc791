"""rtnetlink for the VRRP process: address requests, address and link dumps.

A VRRP takeover must put its VIPs on the interface as soon as its timer
fires (RFC 5798 6.4.2).  pyroute2's asynchronous API costs ~0.5 ms per
request in coroutine and reader machinery; rtnetlink itself needs none of
it: the kernel handles an RTM_NEWADDR inside ``sendmsg()`` (rtnetlink_rcv
runs in the sender's context), so the address exists when ``send`` returns
and the acknowledgement is already queued.  So each request is encoded once
(the sequence number is patched per send), several go in one datagram (the
kernel walks every message of it, netlink(7)), and the acks are read back.

The VRRP process needs five message kinds (RTM_NEWADDR, RTM_DELADDR, and
dumps of addresses and links), so it speaks them itself and never imports
pyroute2, whose package costs ~13–20 MB per process (docs/performance.md,
footprint); the load balancer's IPVS probe (lb/select.py) still imports it.
A test checks the requests byte for byte against pyroute2's own encoder.

``encode_*`` and ``parse_*`` are pure; ``AddressSocket`` is the one place
that touches the socket.
"""
from __future__ import annotations

import errno
import ipaddress
import socket
import struct
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from ..compat import SLOTS
from ..compat.aio import TIMEOUT_ERRORS
from . import rcvbuf

NLMSG_HEADER = struct.Struct("=IHHII")  # len, type, flags, seq, pid (linux/netlink.h nlmsghdr)
NLMSG_ERROR_CODE = struct.Struct("=i")  # nlmsgerr.error, right after the header
IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index (linux/if_addr.h)
IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change (linux/rtnetlink.h)
RTATTR = struct.Struct("=HH")  # len, type
SEQ_OFFSET = 8
ACK_TIMEOUT = 1.0

NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST = 1, 2, 3, 4
IFLA_ADDRESS, IFLA_IFNAME = 1, 3
IFA_F_NODAD = 0x02  # a VIP answers at once, no duplicate address detection (as keepalived); 0x80 is PERMANENT


def encode_attr(kind: int, payload: bytes) -> bytes:
    """One netlink attribute (rtattr / nlattr: the same layout), padded to 4 bytes."""
    data = RTATTR.pack(RTATTR.size + len(payload), kind) + payload
    return data + b"\0" * (-len(data) % 4)


def encode_message(kind: int, flags: int, body: bytes, seq: int = 0) -> bytes:
    """One netlink message: the nlmsghdr, then ``body``."""
    return NLMSG_HEADER.pack(NLMSG_HEADER.size + len(body), kind, flags, seq, 0) + body


def encode_address(add: bool, family: int, index: int, address: str, prefixlen: int, *,
                   scope: int = 0, label: str | None = None, broadcast: str | None = None) -> bytes:
    """One RTM_NEWADDR (create, exclusive: "exists" is an answer) or RTM_DELADDR, sequence 0."""
    packed = socket.inet_pton(family, address)
    body = IFADDRMSG.pack(family, prefixlen, IFA_F_NODAD if add and family == socket.AF_INET6 else 0, scope, index)
    body += encode_attr(IFA_ADDRESS, packed)
    if family == socket.AF_INET:
        body += encode_attr(IFA_LOCAL, packed)  # IPv4's "local" is the address itself (ip(8) too)
    if label:
        body += encode_attr(IFA_LABEL, label.encode() + b"\0")
    if broadcast:
        body += encode_attr(IFA_BROADCAST, socket.inet_pton(family, broadcast))
    flags = NLM_F_REQUEST | NLM_F_ACK | ((NLM_F_CREATE | NLM_F_EXCL) if add else 0)
    return encode_message(RTM_NEWADDR if add else RTM_DELADDR, flags, body)


def encode_dump(kind: int, family: int = socket.AF_UNSPEC) -> bytes:
    """A dump request: RTM_GETADDR (ifaddrmsg) or RTM_GETLINK (ifinfomsg) for ``family``."""
    body = IFADDRMSG.pack(family, 0, 0, 0, 0) if kind == RTM_GETADDR else IFINFOMSG.pack(family, 0, 0, 0, 0)
    return encode_message(kind, NLM_F_REQUEST | NLM_F_DUMP, body)


def messages(data: bytes) -> Iterable[tuple[int, int, bytes]]:
    """(type, sequence, body) of each netlink message in ``data``; stops at a malformed length."""
    offset = 0
    while offset + NLMSG_HEADER.size <= len(data):
        length, kind, _flags, seq, _pid = NLMSG_HEADER.unpack_from(data, offset)
        if length < NLMSG_HEADER.size or offset + length > len(data):
            return
        yield kind, seq, data[offset + NLMSG_HEADER.size:offset + length]
        offset += (length + 3) & ~3


def attributes(body: bytes, start: int) -> dict[int, bytes]:
    """{type: payload} of the rtattrs from ``start`` (the first of a type wins)."""
    out: dict[int, bytes] = {}
    while start + RTATTR.size <= len(body):
        length, kind = RTATTR.unpack_from(body, start)
        if length < RTATTR.size:
            break
        out.setdefault(kind & 0x3FFF, body[start + RTATTR.size:start + length])
        start += (length + 3) & ~3
    return out


@dataclass(frozen=True, **SLOTS)
class Link:
    index: int
    name: str
    flags: int
    mac: bytes
    deleted: bool = False


@dataclass(frozen=True, **SLOTS)
class Address:
    index: int
    interface: ipaddress.IPv4Interface | ipaddress.IPv6Interface


def parse_links(data: bytes) -> list[Link]:
    """Every RTM_NEWLINK / RTM_DELLINK in ``data`` (events or a dump) that names its link."""
    out = []
    for kind, _seq, body in messages(data):
        if kind in (RTM_NEWLINK, RTM_DELLINK) and len(body) >= IFINFOMSG.size:
            _family, _type, index, flags, _change = IFINFOMSG.unpack_from(body)
            attrs = attributes(body, IFINFOMSG.size)
            if IFLA_IFNAME in attrs:
                name = attrs[IFLA_IFNAME].split(b"\0", 1)[0].decode(errors="replace")
                out.append(Link(index, name, flags, attrs.get(IFLA_ADDRESS, b""), kind == RTM_DELLINK))
    return out


def parse_addresses(data: bytes) -> list[Address]:
    """Every RTM_NEWADDR in ``data``: IFA_LOCAL (IPv4's own address; IFA_ADDRESS is a peer's on
    point-to-point links), else IFA_ADDRESS."""
    out = []
    for kind, _seq, body in messages(data):
        if kind != RTM_NEWADDR or len(body) < IFADDRMSG.size:
            continue
        family, prefixlen, _flags, _scope, index = IFADDRMSG.unpack_from(body)
        attrs = attributes(body, IFADDRMSG.size)
        raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
        if family in (socket.AF_INET, socket.AF_INET6) and raw:
            text = socket.inet_ntop(family, raw)
            out.append(Address(index, ipaddress.ip_interface(f"{text}/{prefixlen}")))
    return out


def with_sequence(message: bytes, seq: int) -> bytes:
    """``message`` with its nlmsghdr sequence number set."""
    return message[:SEQ_OFFSET] + struct.pack("=I", seq) + message[SEQ_OFFSET + 4:]


def parse_acks(data: bytes) -> dict[int, int]:
    """{sequence: errno (0 = done)} of every NLMSG_ERROR in ``data`` (netlink(7) acks)."""
    return {seq: -NLMSG_ERROR_CODE.unpack_from(body)[0] for kind, seq, body in messages(data)
            if kind == NLMSG_ERROR and len(body) >= NLMSG_ERROR_CODE.size}


class AddressSocket:
    """An rtnetlink socket for pre-encoded address requests (its reads never wait in practice)."""

    # global_defs vrrp_netlink_cmd_rcv_bufs[_force]: the VRRP process' command sockets, as
    # keepalived's one nl_cmd (set by the VRRP manager; live sockets follow a reload)
    rcv_bufs: ClassVar[tuple[int, bool] | None] = None
    _live: ClassVar[weakref.WeakSet] = weakref.WeakSet()

    @classmethod
    def configure(cls, setting: tuple[int, bool] | None) -> None:
        if setting != cls.rcv_bufs:
            cls.rcv_bufs = setting
            for live in list(cls._live):
                rcvbuf.apply(live.sock, setting, "vrrp_netlink_cmd_rcv_bufs")

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        rcvbuf.apply(self.sock, self.rcv_bufs, "vrrp_netlink_cmd_rcv_bufs")
        self._live.add(self)
        self.sock.settimeout(ACK_TIMEOUT)  # never reached: the acks are queued before send() returns
        self._seq = 0

    def request(self, encoded: Iterable[bytes]) -> list[int]:
        """Send the encoded requests in one datagram; their errnos in order (0 = done)."""
        seqs, batch = [], []
        for message in encoded:
            seqs.append(self._next_seq())
            batch.append(with_sequence(message, seqs[-1]))
        if not batch:
            return []
        self.sock.send(b"".join(batch))
        acks: dict[int, int] = {}
        while not all(s in acks for s in seqs):
            # a stale ack of an earlier request (none expected) is skipped by its sequence number
            try:
                acks.update(parse_acks(self.sock.recv(65536)))
            except TIMEOUT_ERRORS:
                return [acks.get(s, errno.ETIMEDOUT) for s in seqs]
        return [acks[s] for s in seqs]

    def _next_seq(self) -> int:
        self._seq = self._seq % 0xFFFFFFFF + 1
        return self._seq

    def dump(self, kind: int, family: int = socket.AF_UNSPEC) -> bytes:
        """A whole dump (RTM_GETADDR / RTM_GETLINK): every datagram up to NLMSG_DONE, joined."""
        self.sock.send(with_sequence(encode_dump(kind, family), self._next_seq()))
        parts = []
        while True:
            data = self.sock.recv(1 << 20)
            kinds = [k for k, _seq, _body in messages(data)]
            parts.append(data)
            if NLMSG_DONE in kinds or NLMSG_ERROR in kinds or not kinds:
                return b"".join(parts)

    def close(self) -> None:
        self.sock.close()


def host_addresses() -> set[str]:
    """Every address of this network namespace's interfaces (one RTM_GETADDR dump), as text."""
    sock = AddressSocket()
    try:
        return {str(a.interface.ip) for a in parse_addresses(sock.dump(RTM_GETADDR))}
    finally:
        sock.close()
