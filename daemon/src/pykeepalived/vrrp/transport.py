"""Raw IP protocol 112 sockets for VRRP, one per interface and family (asyncio).

RFC 5798 5.1.1 / 5.1.2 and RFC 3768 5.2: adverts go to 224.0.0.18 or
ff02::12 (or, keepalived's extension, to each ``unicast_peer``), with TTL /
hop limit 255; a multicast advert received with anything else is dropped.
keepalived checks the TTL for multicast only, so do we.

IPv4: the socket sends with ``IP_HDRINCL`` (our header: TOS 0xC0, TTL 255,
an IP id counting per socket, as keepalived) and receives whole datagrams.
IPv6: the kernel builds the header; the source and the hop limit travel as
ancillary data (``IPV6_PKTINFO``), and on receipt ``IPV6_RECVHOPLIMIT`` /
``IPV6_RECVPKTINFO`` give the hop limit and the destination.

Each packet carries its kernel receive time (``SO_TIMESTAMPNS``), handed to
the subscriber as a ``loop.time()`` value: RFC 5798 6.4.2 resets the
Master_Down timer when an advert is received, and the moment the event loop
gets round to reading it is later by a variable wake-up delay.

Packets are decoded here and handed to the subscriber for their VRID; a
packet that fails to decode is counted on that VRID's instance when its VRID
byte is readable and subscribed, else on the socket's own ``drops``.
Everything a packet can be dropped for is counted by ``DropReason``.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections import Counter
from dataclasses import dataclass
from ipaddress import IPv6Address, ip_address
from typing import Protocol

from ..compat import SLOTS
from ..net.checksum import IPPROTO_VRRP
from ..net.rcvbuf import set_rcvbuf
from .ippacket import IPV4_HEADER_LEN, ReceivedAdvert, decode_ipv4_packet, decode_ipv6, encode_ipv4_packet, with_ident
from .packet import MCAST_IPV4, MCAST_IPV6, VRRP_TTL, Advertisement, DropReason, IPAddress, VrrpDecodeError, encode

log = logging.getLogger(__name__)

IP_MULTICAST_ALL = 49  # linux/in.h; not in Python's socket module
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # asm-generic/socket.h; SCM_TIMESTAMPNS is the same
TIMESPEC = struct.Struct("@ll")
STAMP_SPACE = socket.CMSG_SPACE(TIMESPEC.size)
MAX_READS = 64  # per wake-up, so one busy socket cannot starve the loop
MAX_DRAIN = 4096  # before a due timer: what a pause of a busy loop left queued
# The kernel queues at most this much for us (the default, ~200 kB, is ~270 adverts: half a
# second of 50 instances at 0.1 s); when full it drops the newest adverts, the ones that keep a
# paused backup from taking over. 4 MiB holds ~5,000 (SO_RCVBUFFORCE: we run as root).
RCVBUF = 4 << 20
# received_at with a clock read before the batch: a packet that arrived while the batch was read
# (MAX_DRAIN packets take well under this) has a stamp after the clock read; accepted
BATCH_SKEW = 0.05


@dataclass(frozen=True, **SLOTS)
class Outgoing:
    """An advert encoded for one destination (``VrrpSocket.prepare``): the IPv4 datagram or
    IPv6 payload, the sendto address and, for IPv6, the IPV6_PKTINFO ancillary data."""

    data: bytes
    address: tuple
    ancillary: tuple
    dst: IPAddress


class Receiver(Protocol):
    """What an instance offers the transport."""

    def on_advert(self, got: ReceivedAdvert, received: float | None = None) -> None: ...
    def on_drop(self, reason: DropReason) -> None: ...


class VrrpSocket:
    """One raw VRRP socket bound to ``ifname`` for one family (4 or 6)."""

    def __init__(self, ifname: str, ifindex: int, family: int) -> None:
        self.ifname, self.ifindex, self.family = ifname, ifindex, family
        self.drops: Counter[DropReason] = Counter()
        self._subs: dict[int, Receiver] = {}
        self._joined: set[IPAddress] = set()
        self._ident = 0
        self.log_unknown = False  # global_defs log_unknown_vrids
        # per VRID, the last IPv4 datagram decoded (less its IP id and header checksum, which
        # change with every packet) and its result: a master repeats itself every advert_int
        self._decoded: dict[int, tuple[bytes, ReceivedAdvert]] = {}
        self._empty_at = float("-inf")  # time.monotonic() when a read last found nothing queued
        af = socket.AF_INET if family == 4 else socket.AF_INET6
        self.sock = socket.socket(af, socket.SOCK_RAW, IPPROTO_VRRP)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        set_rcvbuf(self.sock, RCVBUF, force=True, what=f"VRRP socket {ifname}")  # not root: up to rmem_max
        if family == 4:
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
            self.sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)  # only groups joined here
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                                 struct.pack("4s4si", b"\0" * 4, b"\0" * 4, ifindex))
        else:
            for opt in (socket.IPV6_MULTICAST_HOPS, socket.IPV6_UNICAST_HOPS):
                self.sock.setsockopt(socket.IPPROTO_IPV6, opt, VRRP_TTL)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- membership ---------------------------------------------------------
    def join(self, group: IPAddress | None = None) -> None:
        """Join the VRRP group on our interface (IP_ADD_MEMBERSHIP / IPV6_JOIN_GROUP)."""
        group = group or (MCAST_IPV4 if self.family == 4 else MCAST_IPV6)
        if group in self._joined:
            return
        if self.family == 4:
            mreq = struct.pack("4s4si", group.packed, b"\0" * 4, self.ifindex)
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        else:
            mreq = group.packed + struct.pack("@I", self.ifindex)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        self._joined.add(group)

    def subscribe(self, vrid: int, receiver: Receiver) -> None:
        if vrid in self._subs:
            raise ValueError(f"VRID {vrid} already used on {self.ifname} (IPv{self.family})")
        self._subs[vrid] = receiver
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(self.sock.fileno(), self._readable)

    def unsubscribe(self, vrid: int) -> None:
        self._subs.pop(vrid, None)

    @property
    def idle(self) -> bool:
        return not self._subs

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())
            self._loop = None
        self.sock.close()

    # -- send ---------------------------------------------------------------
    def send(self, advert: Advertisement, src: IPAddress, dst: IPAddress) -> bool:
        """Encode ``advert`` for ``dst`` (the v3 checksum depends on it) and send it."""
        return self.send_prepared(self.prepare(advert, src, dst))

    def prepare(self, advert: Advertisement, src: IPAddress, dst: IPAddress, ttl: int | None = None) -> Outgoing:
        """``advert`` encoded for ``dst``, to send later (or many times) with ``send_prepared``;
        ``ttl``: the TTL / hop limit (keepalived's unicast_ttl), None: VRRP's 255."""
        if self.family == 4:
            return Outgoing(encode_ipv4_packet(advert, src, dst, ttl=VRRP_TTL if ttl is None else ttl),
                            (str(dst), 0), (), dst)
        pktinfo = src.packed + struct.pack("@I", self.ifindex)
        scope = self.ifindex if dst.is_link_local or dst.is_multicast else 0
        ancillary = ((socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pktinfo),)
        if ttl is not None:
            ancillary += ((socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT, struct.pack("@i", ttl)),)
        return Outgoing(encode(advert, src, dst), (str(dst), 0, 0, scope), ancillary, dst)

    def send_prepared(self, out: Outgoing) -> bool:
        """Send a prepared advert; IPv4 gets this socket's next IP id (as keepalived counts)."""
        try:
            if self.family == 4:
                self._ident = (self._ident + 1) & 0xFFFF
                self.sock.sendto(with_ident(out.data, self._ident), out.address)
            else:
                self.sock.sendmsg([out.data], out.ancillary, 0, out.address)
        except OSError as err:
            log.warning("%s: cannot send VRRP to %s: %s", self.ifname, out.dst, err)
            return False
        return True

    # -- receive ------------------------------------------------------------
    def drain(self, deadline: float | None = None) -> None:
        """Read what the kernel has queued now (before a timer due at ``deadline`` acts on a late
        wake-up).  Nothing to do when the socket was last found empty at or after ``deadline``:
        what the kernel received before it was read then (a wake-up runs every instance's due
        timer: one of them drains, the others skip the recvmsg that would find nothing)."""
        if deadline is not None and self._empty_at >= deadline:
            return
        self._readable(MAX_DRAIN)

    def _readable(self, limit: int = MAX_READS) -> None:
        clock = (time.time(), time.monotonic())  # once per wake-up, not per packet (received_at)
        v4 = self.family == 4
        for _ in range(limit):
            try:
                if v4:
                    data, anc, _flags, _addr = self.sock.recvmsg(65535, STAMP_SPACE)
                    self._handle_ipv4(data, received_at(anc, clock))
                else:
                    data, anc, _flags, addr = self.sock.recvmsg(65535, socket.CMSG_SPACE(20) * 2 + STAMP_SPACE)
                    self._handle_ipv6(data, anc, addr, received_at(anc, clock))
            except BlockingIOError:
                self._empty_at = time.monotonic()
                return
            except InterruptedError:
                return
            except OSError as err:  # e.g. ENETDOWN while the link flaps
                log.debug("%s: recv: %s", self.ifname, err)
                return

    def _handle_ipv4(self, data: bytes, received: float | None = None) -> None:
        ihl = (data[0] & 0x0F) * 4 if data else IPV4_HEADER_LEN
        vrid = data[ihl + 1] if len(data) > ihl + 1 else None
        key = data[:4] + data[6:10] + data[12:]
        last = self._decoded.get(vrid)
        if last is not None and last[0] == key:  # decoding is pure: the same bytes, the same advert
            self._deliver(last[1], received)
            return
        multicast = len(data) >= IPV4_HEADER_LEN and 224 <= data[16] <= 239  # 224.0.0.0/4
        try:
            got = decode_ipv4_packet(data, check_ttl=multicast)
        except VrrpDecodeError as err:
            self._drop(vrid, err.reason)
            return
        self._decoded[got.advert.vrid] = (key, got)
        self._deliver(got, received)

    def _handle_ipv6(self, data: bytes, anc: list, addr: tuple, received: float | None = None) -> None:
        hop_limit: int | None = None
        dst: IPv6Address | None = None
        for level, kind, value in anc:
            if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_HOPLIMIT:
                hop_limit = struct.unpack("@i", value[:4])[0]
            elif level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                dst = IPv6Address(value[:16])
        vrid = data[1] if len(data) > 1 else None
        if dst is None or hop_limit is None:
            self._drop(vrid, DropReason.PROTOCOL)
            return
        src = ip_address(addr[0].split("%")[0])
        try:
            got = decode_ipv6(data, src, dst, hop_limit, check_ttl=dst.is_multicast)
        except VrrpDecodeError as err:
            self._drop(vrid, err.reason)
            return
        self._deliver(got, received)

    def _drop(self, vrid: int | None, reason: DropReason) -> None:
        sub = self._subs.get(vrid) if vrid is not None else None
        if sub is not None:
            sub.on_drop(reason)
        else:
            self.drops[reason] += 1

    def _deliver(self, got: ReceivedAdvert, received: float | None = None) -> None:
        sub = self._subs.get(got.advert.vrid)
        if sub is None:
            self.drops[DropReason.VRID] += 1  # keepalived counts unknown VRIDs too
            if self.log_unknown:  # keepalived's words, so log watchers match both
                log.info("Unknown VRID(%d) received on interface(%s) from %s. ignoring...",
                         got.advert.vrid, self.ifname, got.src)
            return
        sub.on_advert(got, received)


def received_at(ancillary: list, clock: tuple[float, float] | None = None) -> float | None:
    """The kernel's receive time (SCM_TIMESTAMPNS, wall clock) as a ``time.monotonic()`` value.

    ``clock``: ``(time.time(), time.monotonic())`` read once for a batch of packets (a packet
    queued after that read is up to a few ms "in the future": accepted, the caller clamps it to
    its now); None reads them now.  None without a stamp, or when the wall clock disagrees
    (stepped between the packet and now): the caller then uses its own clock.
    """
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= TIMESPEC.size:
            sec, nsec = TIMESPEC.unpack_from(value)
            wall, mono = clock or (time.time(), time.monotonic())
            age = wall - (sec + nsec / 1e9)
            return mono - age if -BATCH_SKEW <= age < 1 else None
    return None


class SocketPool:
    """Shares one ``VrrpSocket`` per (interface, family) among instances."""

    def __init__(self) -> None:
        self._socks: dict[tuple[str, int], VrrpSocket] = {}
        self.log_unknown = False

    def get(self, ifname: str, ifindex: int, family: int) -> VrrpSocket:
        key = (ifname, family)
        if key not in self._socks:
            self._socks[key] = VrrpSocket(ifname, ifindex, family)
            self._socks[key].log_unknown = self.log_unknown
        return self._socks[key]

    def set_log_unknown(self, on: bool) -> None:
        """global_defs log_unknown_vrids, for every socket (a reload may change it)."""
        self.log_unknown = on
        for sock in self._socks.values():
            sock.log_unknown = on

    def release(self, ifname: str, family: int) -> None:
        sock = self._socks.get((ifname, family))
        if sock is not None and sock.idle:
            sock.close()
            del self._socks[(ifname, family)]

    def drops(self) -> dict[str, dict[str, int]]:
        return {f"{k[0]}/ipv{k[1]}": {r.value: n for r, n in s.drops.items()} for k, s in self._socks.items()}

    def close(self) -> None:
        for sock in self._socks.values():
            sock.close()
        self._socks.clear()
