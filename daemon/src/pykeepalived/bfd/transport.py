"""The asyncio adapter of BFD (RFC 5881 single hop, RFC 5883 multihop): sockets and timers
around session.py.

One receive socket per family and port (UDP 3784; 4784 while a ``multihop``
session runs) reads each packet's TTL (hop limit): a packet below ``ttl -
max_hops`` is dropped (GTSM, RFC 5881 5; keepalived's check, which multihop
keeps: ``max_hops`` allows for the hops between).  A packet finds only the
sessions of the port it came to.  Each session sends from its own socket, bound to ``source_ip`` and a
port in 49152-65535 (RFC 5881 4), with TTL 255 (IPv6: keepalived's 64 unless
``ttl`` says otherwise).  A packet finds its session by Your Discriminator, or
while that is 0 by the sender's address (RFC 5880 6.3).

A reload that changes only timers (``min_rx``, ``min_tx``, ``idle_tx``,
``multiplier``, ``passive``, ``max_hops``, ``weight``) keeps the session and
applies them with a Poll Sequence; a new address or TTL restarts it.
Listeners are kept by session name, so the VRRP instances tracking a restarted
session stay subscribed.

The runner runs in the BFD child (core/daemon.py), which publishes each Up and
each fall to the VRRP and checker children (bfd/events.py, ``observers``); an
unsupervised ``-P`` or ``-C`` daemon runs one in its own loop.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import socket
import sys
from collections.abc import Callable

from ..config.model_bfd import BfdInstance
from .events import BfdView, Table
from .packet import Diag, Dropped, State, decode, encode
from .session import Session, SessionConfig

log = logging.getLogger("pykeepalived.bfd")

SOURCE_PORTS = (49152, 65535)
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
ANCILLARY = socket.CMSG_SPACE(4) * 2
NO_TTL_CHECK = (-1, 255)  # keepalived keeps max_hops in a byte: -1 and 255 both switch it off


def session_config(b: BfdInstance) -> SessionConfig:
    return SessionConfig(min_rx=round(b.min_rx * 1000), min_tx=round(b.min_tx * 1000),
                         idle_tx=round(b.idle_tx * 1000), multiplier=b.multiplier, passive=b.passive)


def _endpoints(b: BfdInstance) -> tuple[object, ...]:
    """What the socket is made of: a change restarts the session."""
    return b.neighbor_ip, b.source_ip, b.effective_ttl, b.multihop


class Peer:
    """One running bfd_instance: its session, its send socket, its timer."""

    def __init__(self, spec: BfdInstance, discr: int, loop: asyncio.AbstractEventLoop) -> None:
        self.spec, self.loop = spec, loop
        self.session = Session(session_config(spec), discr, loop.time())
        self.sock = _send_socket(spec)
        self.timer: asyncio.TimerHandle | None = None
        self.drops: collections.Counter[str] = collections.Counter()
        self.sent = 0
        self.send_errors: collections.Counter[str] = collections.Counter()

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.sock.close()


def _send_socket(spec: BfdInstance) -> socket.socket:
    family = socket.AF_INET if spec.family == 4 else socket.AF_INET6
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    if family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, spec.effective_ttl)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, spec.effective_ttl)
    src = str(spec.source_ip) if spec.source_ip is not None else ""
    ports = list(range(SOURCE_PORTS[0], SOURCE_PORTS[1] + 1))
    random.shuffle(ports)
    for port in ports[:64]:
        try:
            sock.bind((src, port))
            return sock
        except OSError as err:
            if err.errno != 98:  # EADDRINUSE: try another port
                sock.close()
                raise
    sock.close()
    raise OSError(f"bfd_instance {spec.name}: no free source port in 49152-65535")


class BfdRunner:
    """Every bfd_instance of the config, in one event loop (the BFD child's)."""

    def __init__(self) -> None:
        self.peers: dict[str, Peer] = {}
        self.by_discr: dict[int, Peer] = {}
        self.view = BfdView()  # Up or not, the latest event: what track_bfd and BFD_CHECK read
        self.observers: list[Callable[[str, bool], None]] = []  # each Up and each fall (the event socket)
        self.receivers: dict[tuple[int, int], socket.socket] = {}  # by (family, port)
        self.drops: collections.Counter[str] = collections.Counter()  # before a session is found

    # -- lifecycle -----------------------------------------------------------
    def apply(self, specs: dict[str, BfdInstance]) -> None:
        """Start new sessions, restart changed ones (Down until the peer answers), stop removed ones."""
        loop = asyncio.get_running_loop()
        for name in [n for n, p in self.peers.items() if specs.get(n) != p.spec]:
            peer, new = self.peers[name], specs.get(name)
            if new is not None and _endpoints(new) == _endpoints(peer.spec):  # timers only: keep the session
                peer.spec = new
                peer.session.reconfigure(session_config(new), loop.time())
                self._after(peer)
            else:
                self._remove(name)
        wanted = {(b.family, b.port) for b in specs.values()}
        for key in wanted - set(self.receivers):
            self.receivers[key] = self._open_receiver(*key, loop)
        for name, spec in specs.items():
            if name not in self.peers:
                discr = random.randrange(1, 2**32)
                while discr in self.by_discr:
                    discr = random.randrange(1, 2**32)
                peer = self.peers[name] = Peer(spec, discr, loop)
                self.by_discr[discr] = peer
                self.view.set(name, False, None)
                log.info("(%s) BFD session to %s starting", name, spec.neighbor_ip)
                self._run(peer)
        for key in set(self.receivers) - wanted:
            sock = self.receivers.pop(key)
            loop.remove_reader(sock.fileno())
            sock.close()

    def _remove(self, name: str) -> None:
        peer = self.peers.pop(name)
        self.by_discr.pop(peer.session.my_discr, None)
        was_up = peer.session.state == State.UP
        peer.close()
        if was_up:
            self._notify(name, False)
        self.view.forget(name)

    async def stop(self) -> None:
        """Tell each peer we go AdminDown (RFC 5880 6.8.16), then close."""
        for peer in self.peers.values():
            peer.session.admin(True, peer.loop.time())
            self._flush(peer)
        for name in list(self.peers):
            self.peers.pop(name).close()
        self.by_discr.clear()
        loop = asyncio.get_running_loop()
        for sock in self.receivers.values():
            loop.remove_reader(sock.fileno())
            sock.close()
        self.receivers.clear()

    # -- what VRRP and the checkers see (bfd/events.py) ----------------------
    def up(self, name: str) -> bool:
        return self.view.up(name)

    def listen(self, name: str, callback: Callable[[bool], None]) -> Callable[[], None]:
        return self.view.listen(name, callback)

    def event(self, name: str) -> bool | None:
        return self.view.event(name)

    async def changed(self, name: str, seen: bool | None) -> bool:
        return await self.view.changed(name, seen)

    def table(self) -> Table:
        return self.view.table()

    def status(self) -> dict[str, object]:
        return {
            "sessions": {name: {
                "state": p.session.state.name, "diag": p.session.diag.name, "neighbor": str(p.spec.neighbor_ip),
                "port": p.spec.port,
                "local_discr": p.session.my_discr, "remote_discr": p.session.remote_discr,
                "tx_interval_ms": round(p.session.tx_interval() * 1000, 3),
                "detection_time_ms": round(p.session.detection_time() * 1000, 3),
                "sent": p.sent, "send_errors": dict(p.send_errors), "drops": dict(p.drops)} for name, p in self.peers.items()},
            "drops": dict(self.drops),
        }

    # -- I/O -----------------------------------------------------------------
    def _open_receiver(self, family: int, port: int, loop: asyncio.AbstractEventLoop) -> socket.socket:
        af = socket.AF_INET if family == 4 else socket.AF_INET6
        sock = socket.socket(af, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if af == socket.AF_INET:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
        sock.bind(("", port))
        loop.add_reader(sock.fileno(), self._readable, sock, port)
        return sock

    def _readable(self, sock: socket.socket, port: int) -> None:
        for _ in range(64):  # a burst, then let the loop breathe
            try:
                data, anc, _flags, addr = sock.recvmsg(512, ANCILLARY)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                log.warning("BFD receive: %s", err)
                return
            self._received(data, _ttl(anc), addr[0], port)

    def _received(self, data: bytes, ttl: int | None, src: str, port: int) -> None:
        try:
            pkt = decode(data)
        except Dropped as drop:
            self.drops[drop.reason] += 1
            return
        peer = self._find(pkt.your_discr, src, port)
        if peer is None:
            self.drops["no_session"] += 1
            return
        spec = peer.spec
        if ttl is not None and spec.max_hops not in NO_TTL_CHECK and ttl < spec.effective_ttl - spec.max_hops:
            peer.drops["ttl"] += 1
            return
        reason = peer.session.receive(pkt, peer.loop.time())
        if reason is not None:
            peer.drops[reason] += 1
            return
        self._after(peer)

    def _find(self, your_discr: int, src: str, port: int) -> Peer | None:
        """The session a packet from ``src`` to our ``port`` belongs to: by Your Discriminator, or
        while that is 0 by the sender (RFC 5880 6.3); never one of the other port's."""
        src = src.split("%")[0]
        if your_discr:
            peer = self.by_discr.get(your_discr)
            ok = peer is not None and str(peer.spec.neighbor_ip) == src and peer.spec.port == port
            return peer if ok else None
        for peer in self.peers.values():
            if str(peer.spec.neighbor_ip) == src and peer.spec.port == port:
                return peer
        return None

    def _run(self, peer: Peer) -> None:
        if peer.timer is not None:
            peer.timer = None
        peer.session.handle_timer(peer.loop.time())
        self._after(peer)

    def _after(self, peer: Peer) -> None:
        """Send what the session queued, report changes, re-arm the timer."""
        self._flush(peer)
        for change in peer.session.take_changes():
            log.info("(%s) BFD %s -> %s (%s)", peer.spec.name, change.old.name, change.new.name, change.diag.name)
            if change.diag == Diag.DETECTION_EXPIRED and peer.session.last_rx is not None:
                # the same figure keepalived logs ("Expired after N ms"), for side-by-side runs
                log.warning("(%s) BFD expired after %.1f ms without a packet", peer.spec.name,
                            (change.at - peer.session.last_rx) * 1000)
            if (change.old == State.UP) != (change.new == State.UP):
                self._notify(peer.spec.name, change.new == State.UP)
        if peer.timer is not None:
            peer.timer.cancel()
        deadline = peer.session.next_deadline()
        if deadline != float("inf"):
            peer.timer = peer.loop.call_at(deadline, self._run, peer)

    def _flush(self, peer: Peer) -> None:
        for pkt in peer.session.take():
            try:
                peer.sock.sendto(encode(pkt), (str(peer.spec.neighbor_ip), peer.spec.port))
                peer.sent += 1
            except OSError as err:  # unreachable neighbour: detection handles it
                peer.send_errors[err.strerror or str(err.errno)] += 1

    def _notify(self, name: str, up: bool) -> None:
        if name in self.peers or not up:
            self.view.set(name, up, up)
            for observer in list(self.observers):
                observer(name, up)


def _ttl(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    for level, kind, data in ancillary:
        if (level, kind) in ((socket.IPPROTO_IP, socket.IP_TTL), (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT)):
            return int.from_bytes(data[:4], sys.byteorder) if len(data) >= 4 else data[0]
    return None
