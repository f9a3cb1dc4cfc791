"""Address requests on a plain rtnetlink socket, for the takeover's hot path.

A VRRP takeover must put its VIPs on the wire side as soon as its timer
fires (RFC 5798 6.4.2: "add the virtual addresses").  pyroute2's asynchronous
API costs ~0.5 ms per request in coroutine and reader machinery; rtnetlink
itself needs none of it: the kernel handles an RTM_NEWADDR inside
``sendmsg()`` (rtnetlink_rcv runs in the sender's context), so the address
exists when ``send`` returns and the acknowledgement is already queued.

So each request is encoded once with pyroute2's ``ifaddrmsg`` (the sequence
number is patched per send), several go in one datagram (the kernel walks
every message of it, netlink(7)), and the acks are read back without
waiting.  ``encode_*`` and ``parse_acks`` are pure; ``AddressSocket`` is
the one place that touches the socket.
"""
from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Iterable

from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_ERROR
from pyroute2.netlink.rtnl import RTM_DELADDR, RTM_NEWADDR
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg

NLMSG_HEADER = struct.Struct("=IHHII")  # len, type, flags, seq, pid (linux/netlink.h nlmsghdr)
NLMSG_ERROR_CODE = struct.Struct("=i")  # nlmsgerr.error, right after the header
SEQ_OFFSET = 8
ACK_TIMEOUT = 1.0
IFA_F_NODAD = 0x80  # a VIP answers at once, no duplicate address detection (as keepalived)


def encode_address(add: bool, family: int, index: int, address: str, prefixlen: int, *,
                   scope: int = 0, label: str | None = None, broadcast: str | None = None) -> bytes:
    """One RTM_NEWADDR (create, exclusive: "exists" is an answer) or RTM_DELADDR, sequence 0."""
    msg = ifaddrmsg()
    msg["family"], msg["prefixlen"], msg["scope"], msg["index"] = family, prefixlen, scope, index
    msg["flags"] = IFA_F_NODAD if add and family == socket.AF_INET6 else 0
    attrs = [("IFA_ADDRESS", address)]
    if family == socket.AF_INET:
        attrs.append(("IFA_LOCAL", address))  # IPv4's "local" is the address itself (ip(8) too)
    if label:
        attrs.append(("IFA_LABEL", label))
    if broadcast:
        attrs.append(("IFA_BROADCAST", broadcast))
    msg["attrs"] = attrs
    msg["header"]["type"] = RTM_NEWADDR if add else RTM_DELADDR
    msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK | ((NLM_F_CREATE | NLM_F_EXCL) if add else 0)
    msg.encode()
    return bytes(msg.data)


def with_sequence(message: bytes, seq: int) -> bytes:
    """``message`` with its nlmsghdr sequence number set."""
    return message[:SEQ_OFFSET] + struct.pack("=I", seq) + message[SEQ_OFFSET + 4:]


def parse_acks(data: bytes) -> dict[int, int]:
    """{sequence: errno (0 = done)} of every NLMSG_ERROR in ``data`` (netlink(7) acks)."""
    acks: dict[int, int] = {}
    offset = 0
    while offset + NLMSG_HEADER.size <= len(data):
        length, kind, _flags, seq, _pid = NLMSG_HEADER.unpack_from(data, offset)
        if length < NLMSG_HEADER.size:
            break  # malformed: stop rather than loop
        if kind == NLMSG_ERROR and length >= NLMSG_HEADER.size + NLMSG_ERROR_CODE.size:
            acks[seq] = -NLMSG_ERROR_CODE.unpack_from(data, offset + NLMSG_HEADER.size)[0]
        offset += (length + 3) & ~3
    return acks


class AddressSocket:
    """An rtnetlink socket for pre-encoded address requests (its reads never wait in practice)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.sock.settimeout(ACK_TIMEOUT)  # never reached: the acks are queued before send() returns
        self._seq = 0

    def request(self, messages: Iterable[bytes]) -> list[int]:
        """Send the messages in one datagram; their errnos in order (0 = done)."""
        seqs, batch = [], []
        for message in messages:
            self._seq = self._seq % 0xFFFFFFFF + 1
            seqs.append(self._seq)
            batch.append(with_sequence(message, self._seq))
        if not batch:
            return []
        self.sock.send(b"".join(batch))
        acks: dict[int, int] = {}
        while not all(s in acks for s in seqs):
            # a stale ack of an earlier request (none expected) is skipped by its sequence number
            try:
                acks.update(parse_acks(self.sock.recv(65536)))
            except TimeoutError:
                return [acks.get(s, errno.ETIMEDOUT) for s in seqs]
        return [acks[s] for s in seqs]

    def close(self) -> None:
        self.sock.close()
