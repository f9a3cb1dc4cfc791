"""The IPVS backend: the kernel's tables over generic netlink (family "IPVS", linux/ip_vs.h).

The codec (``encode_*``, ``*_from_attrs``) is pure; ``IpvsSocket`` is the one
place that touches the socket.  Speaking the family directly, not through
pyroute2's ``IPVS``: that one ran a private asyncio loop per call (so it
needed a worker thread beside the daemon's loop), built and parsed each
message through its NLA classes and waited for each ack in turn; in UML
1,000 destinations took 17-25 s to program (keepalived: 1.3-3.5 s).  Here
each message is a few ``struct.pack`` calls, up to ``BATCH`` of them go in
one datagram (the kernel handles every message of it, in order, a failed
one included: netlink(7)) and their acks are read back together; a dump is
one request read to NLMSG_DONE.

What the kernel wants (ip_vs_ctl.c, ip_vs_genl_parse_service/_dest):
- add and set carry sched, flags, timeout and netmask (EINVAL otherwise,
  fwmark services included); a set without a PE name drops the engine;
- a service is named by af and (fwmark | protocol, address, port); ports
  (the tunnel's too) are big-endian; an IPv4 netmask is the mask's bytes,
  an IPv6 one the prefix length as a host-order u32;
- only add, set and del are sent ("update" is refused, as before).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
from collections.abc import Collection, Iterable, Sequence

from ..compat.aio import TIMEOUT_ERRORS
from ..config.model_lvs import Tunnel
from ..net.ipvs_syncd import FAMILY_SEQ, GENLMSG, IPVS_GENL_VERSION, NLA_F_NESTED, ipvs_socket
from ..net.rtnl import (
    NLM_F_ACK,
    NLM_F_DUMP,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_ERROR_CODE,
    attributes,
    encode_attr,
    encode_message,
    messages,
)
from .backend import Applied
from .table import LOCAL, Dest, Op, Service, ServiceKey, ServiceSpec, Table, norm_addr

PROTO_NUM = {"TCP": 6, "UDP": 17, "SCTP": 132}
PROTO_NAME = {v: k for k, v in PROTO_NUM.items()}
FWD_NUM = {"NAT": 0, "TUN": 2, "DR": 3}
FWD_NAME = {0: "NAT", 1: LOCAL, 2: "TUN", 3: "DR"}
FWD_MASK = 0x7  # IP_VS_CONN_F_FWD_MASK
F_PERSISTENT = 0x1  # IP_VS_SVC_F_PERSISTENT
F_SETTABLE = 0x4 | 0x8 | 0x10 | 0x20  # ONEPACKET, SCHED1-3 (ServiceSpec.flags); HASHED is the kernel's
TUN_TYPE = {"ipip": 0, "gue": 1, "gre": 2}  # IP_VS_CONN_F_TUNNEL_TYPE_*
TUN_CSUM = {"nocsum": 0, "csum": 1, "remcsum": 2}  # IP_VS_TUNNEL_ENCAP_FLAG_*
TUN_TYPE_NAME = {v: k for k, v in TUN_TYPE.items()}
TUN_CSUM_NAME = {v: k for k, v in TUN_CSUM.items()}
AF = {4: socket.AF_INET, 6: socket.AF_INET6}

# linux/ip_vs.h
CMD_NEW_SERVICE, CMD_SET_SERVICE, CMD_DEL_SERVICE, CMD_GET_SERVICE = 1, 2, 3, 4
CMD_NEW_DEST, CMD_SET_DEST, CMD_DEL_DEST, CMD_GET_DEST = 5, 6, 7, 8
SERVICE_CMD = {"add": CMD_NEW_SERVICE, "set": CMD_SET_SERVICE, "del": CMD_DEL_SERVICE}
DEST_CMD = {"add": CMD_NEW_DEST, "set": CMD_SET_DEST, "del": CMD_DEL_DEST}
CMD_ATTR_SERVICE, CMD_ATTR_DEST = 1, 2
(SVC_AF, SVC_PROTOCOL, SVC_ADDR, SVC_PORT, SVC_FWMARK, SVC_SCHED_NAME, SVC_FLAGS, SVC_TIMEOUT,
 SVC_NETMASK, SVC_STATS, SVC_PE_NAME) = range(1, 12)
(DEST_ADDR, DEST_PORT, DEST_FWD_METHOD, DEST_WEIGHT, DEST_U_THRESH, DEST_L_THRESH, DEST_ACTIVE_CONNS,
 DEST_INACT_CONNS, DEST_PERSIST_CONNS, DEST_STATS, DEST_ADDR_FAMILY, DEST_STATS64, DEST_TUN_TYPE,
 DEST_TUN_PORT, DEST_TUN_FLAGS) = range(1, 16)

U16, U32, BE16, FLAGS = struct.Struct("=H"), struct.Struct("=I"), struct.Struct("!H"), struct.Struct("=II")
BATCH = 128  # messages per datagram: their acks (~1 KB of receive buffer each) fit the default buffer
RECV_SIZE = 1 << 18
SOL_NETLINK, NETLINK_CAP_ACK = 270, 10


def _addr(af: int, addr: str) -> bytes:
    """An address as the kernel's union nf_inet_addr (16 bytes, as ipvsadm sends it)."""
    return socket.inet_pton(AF[af], addr).ljust(16, b"\0")


def _addr_in(af: int, raw: bytes) -> str:
    return norm_addr(socket.inet_ntop(AF[af], raw[:16 if af == 6 else 4]))


def _netmask_out(af: int, plen: int) -> bytes:
    if af == 6:
        return U32.pack(plen)
    return ipaddress.IPv4Network(f"0.0.0.0/{plen}").netmask.packed


def _netmask_in(af: int, raw: bytes | None) -> int:
    if raw is None:
        return 128 if af == 6 else 32
    if af == 6:
        return U32.unpack(raw[:4])[0]
    return ipaddress.IPv4Network(f"0.0.0.0/{socket.inet_ntoa(raw[:4])}").prefixlen


def _str(raw: bytes | None) -> str:
    return raw.split(b"\0", 1)[0].decode() if raw else ""


def encode_service(spec: ServiceSpec, full: bool = True) -> bytes:
    """IPVS_CMD_ATTR_SERVICE: the key; with ``full`` the settable attributes too (add and set)."""
    key = spec.key
    out = [encode_attr(SVC_AF, U16.pack(AF[key.af]))]
    if key.fwmark:
        out.append(encode_attr(SVC_FWMARK, U32.pack(key.fwmark)))
        out.append(encode_attr(SVC_PROTOCOL, U16.pack(PROTO_NUM["TCP"])))  # the kernel forces TCP anyway
    else:
        out += [encode_attr(SVC_PROTOCOL, U16.pack(PROTO_NUM[key.protocol])),
                encode_attr(SVC_ADDR, _addr(key.af, key.addr)), encode_attr(SVC_PORT, BE16.pack(key.port))]
    if full:
        out += [encode_attr(SVC_SCHED_NAME, spec.sched.encode() + b"\0"),
                encode_attr(SVC_FLAGS, FLAGS.pack((F_PERSISTENT if spec.persistent else 0) | spec.flags, 0xFFFF)),
                encode_attr(SVC_TIMEOUT, U32.pack(spec.timeout)),
                encode_attr(SVC_NETMASK, _netmask_out(key.af, spec.netmask))]
        if spec.pe_name:  # left out, the kernel drops the engine (a "set" removes it)
            out.append(encode_attr(SVC_PE_NAME, spec.pe_name.encode() + b"\0"))
    return encode_attr(CMD_ATTR_SERVICE | NLA_F_NESTED, b"".join(out))


def encode_dest(d: Dest, full: bool = True) -> bytes:
    """IPVS_CMD_ATTR_DEST: address and port; with ``full`` method, weight, thresholds and tunnel."""
    af = 6 if ":" in d.addr else 4
    out = [encode_attr(DEST_ADDR, _addr(af, d.addr)), encode_attr(DEST_ADDR_FAMILY, U16.pack(AF[af])),
           encode_attr(DEST_PORT, BE16.pack(d.port))]
    if full:
        out += [encode_attr(DEST_FWD_METHOD, U32.pack(FWD_NUM.get(d.method, 0))),
                encode_attr(DEST_WEIGHT, U32.pack(d.weight)), encode_attr(DEST_U_THRESH, U32.pack(d.u_thresh)),
                encode_attr(DEST_L_THRESH, U32.pack(d.l_thresh)),
                encode_attr(DEST_TUN_TYPE, bytes([TUN_TYPE[d.tunnel.type]])),
                encode_attr(DEST_TUN_PORT, BE16.pack(d.tunnel.port)),
                encode_attr(DEST_TUN_FLAGS, U16.pack(TUN_CSUM[d.tunnel.csum]))]
    return encode_attr(CMD_ATTR_DEST | NLA_F_NESTED, b"".join(out))


def genl(family: int, cmd: int, attrs: bytes, flags: int = NLM_F_REQUEST | NLM_F_ACK) -> bytes:
    return encode_message(family, flags, GENLMSG.pack(cmd, IPVS_GENL_VERSION, 0) + attrs)


def encode_op(family: int, op: Op) -> bytes:
    """One add/set/del of a service or a destination."""
    if op.action not in SERVICE_CMD:
        raise ValueError(f"refusing IPVS action {op.action!r}")  # pyroute2's "update" was a DELETE
    if op.dest is None:
        return genl(family, SERVICE_CMD[op.action], encode_service(op.service, full=op.action != "del"))
    return genl(family, DEST_CMD[op.action],
                encode_service(op.service, full=False) + encode_dest(op.dest, full=op.action != "del"))


def _u32(a: dict[int, bytes], kind: int) -> int:
    raw = a.get(kind)
    return U32.unpack(raw[:4])[0] if raw else 0


def spec_from_attrs(a: dict[int, bytes]) -> ServiceSpec:
    """A service of a dump (the attributes inside IPVS_CMD_ATTR_SERVICE)."""
    af = 6 if U16.unpack(a[SVC_AF][:2])[0] == socket.AF_INET6 else 4
    fwmark = _u32(a, SVC_FWMARK)
    if fwmark:
        key = ServiceKey.mark(af, fwmark)
    else:
        proto = U16.unpack(a[SVC_PROTOCOL][:2])[0]
        key = ServiceKey(af, PROTO_NAME.get(proto, str(proto)), _addr_in(af, a[SVC_ADDR]),
                         BE16.unpack(a[SVC_PORT][:2])[0])
    flags = FLAGS.unpack(a[SVC_FLAGS][:8])[0] if SVC_FLAGS in a else 0
    return ServiceSpec(key, _str(a.get(SVC_SCHED_NAME)), bool(flags & F_PERSISTENT), _u32(a, SVC_TIMEOUT),
                       _netmask_in(af, a.get(SVC_NETMASK)), flags & F_SETTABLE, _str(a.get(SVC_PE_NAME)))


def dest_from_attrs(a: dict[int, bytes], service_af: int = 4) -> Dest:
    """A destination of a dump (the attributes inside IPVS_CMD_ATTR_DEST)."""
    family = U16.unpack(a[DEST_ADDR_FAMILY][:2])[0] if DEST_ADDR_FAMILY in a else AF[service_af]
    fwd = _u32(a, DEST_FWD_METHOD) & FWD_MASK
    tun_port = BE16.unpack(a[DEST_TUN_PORT][:2])[0] if DEST_TUN_PORT in a else 0
    tun_flags = U16.unpack(a[DEST_TUN_FLAGS][:2])[0] if DEST_TUN_FLAGS in a else 0
    tunnel = Tunnel(TUN_TYPE_NAME.get(a[DEST_TUN_TYPE][0] if DEST_TUN_TYPE in a else 0, "ipip"), tun_port,
                    TUN_CSUM_NAME.get(tun_flags, "nocsum"))
    return Dest(_addr_in(6 if family == socket.AF_INET6 else 4, a[DEST_ADDR]), BE16.unpack(a[DEST_PORT][:2])[0],
                FWD_NAME.get(fwd, str(fwd)), _u32(a, DEST_WEIGHT), _u32(a, DEST_U_THRESH), _u32(a, DEST_L_THRESH),
                tunnel, _u32(a, DEST_ACTIVE_CONNS), _u32(a, DEST_INACT_CONNS), _u32(a, DEST_PERSIST_CONNS))


def nested(body: bytes, kind: int) -> dict[int, bytes]:
    """The attributes nested in attribute ``kind`` of a generic netlink message body."""
    inner = attributes(body, GENLMSG.size).get(kind)
    return attributes(inner, 0) if inner is not None else {}


COUNTERS = frozenset({SVC_STATS, DEST_ACTIVE_CONNS, DEST_INACT_CONNS, DEST_PERSIST_CONNS, DEST_STATS,
                      DEST_STATS64, 12})  # 12: IPVS_SVC_ATTR_STATS64 too


def payload(body: bytes) -> bytes:
    """The payload of a generic netlink message's first attribute (a dump's one nested entry)."""
    start = GENLMSG.size
    length = U16.unpack_from(body, start)[0] if len(body) >= start + 4 else 0
    return body[start + 4:start + length]


def settings(raw: bytes) -> bytes:
    """An entry's attributes before its first counter: what the entry is, not what it carried.
    The kernel puts the counters last (ip_vs_genl_fill_service/_dest), so equal settings are
    equal entries whatever the traffic."""
    start = 0
    while start + 4 <= len(raw):
        length, kind = U16.unpack_from(raw, start)[0], U16.unpack_from(raw, start + 2)[0] & 0x3FFF
        if kind in COUNTERS or length < 4:
            return raw[:start]
        start += (length + 3) & ~3
    return raw


class Decoded:
    """Entries of the last dump by their settings: an unchanged entry is not decoded again (a
    reconcile dumps the whole table, 40,000 destinations at 2,000 x 20: ~20 us each to decode).

    ``fixed``: every entry has the same attributes before its counters (a destination: the
    kernel sends them all, unconditionally), so the cut found in the first one is taken for
    the others when a counter's type sits there too; a service (optional PE name) is walked.
    """

    def __init__(self, decode, fixed: bool) -> None:
        self.decode, self.fixed, self.last, self.now = decode, fixed, {}, {}
        self.cut, self.mark = -1, b""

    def get(self, raw: bytes, *args):
        if self.fixed and raw[self.cut + 2:self.cut + 4] == self.mark:
            key = raw[:self.cut]
        else:
            key = settings(raw)
            self.cut, self.mark = len(key), raw[len(key) + 2:len(key) + 4]
        got = self.last.get((key, *args))
        if got is None:
            got = self.decode(attributes(raw, 0), *args)
        self.now[(key, *args)] = got
        return got

    def turn(self) -> None:
        """Keep what the dump just read (only that: entries gone from the kernel are forgotten)."""
        self.last, self.now = self.now, {}


class IpvsSocket:
    """One generic netlink socket to the kernel's IPVS family, in the namespace it was made in
    (OSError when the kernel has no IPVS)."""

    def __init__(self) -> None:
        self.sock, self.family = ipvs_socket()
        self.seq = FAMILY_SEQ
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)  # acks without a copy of the request
        self.buf = bytearray(RECV_SIZE)

    def _next(self) -> int:
        self.seq = self.seq % 0xFFFFFFFF + 1
        return self.seq

    def _recv(self) -> bytes:
        n = self.sock.recv_into(self.buf)
        return bytes(memoryview(self.buf)[:n])

    def _with_seq(self, message: bytes) -> tuple[int, bytes]:
        seq = self._next()
        return seq, message[:8] + U32.pack(seq) + message[12:]

    def request(self, encoded: Sequence[bytes]) -> list[int]:
        """Send the requests, BATCH to a datagram; their errnos in order (0 = done)."""
        out: list[int] = []
        for start in range(0, len(encoded), BATCH):
            seqs, batch = zip(*(self._with_seq(m) for m in encoded[start:start + BATCH]))
            self.sock.send(b"".join(batch))
            acks: dict[int, int] = {}
            want = set(seqs)
            while not want <= acks.keys():
                try:
                    data = self._recv()
                except TIMEOUT_ERRORS:
                    break
                for kind, seq, body in messages(data):
                    if kind == NLMSG_ERROR and seq in want:  # a stale ack of an earlier request is skipped
                        acks[seq] = -NLMSG_ERROR_CODE.unpack_from(body)[0]
            out += [acks.get(s, errno.ETIMEDOUT) for s in seqs]
        return out

    def dump(self, cmd: int, attrs: bytes = b"") -> Iterable[bytes]:
        """The bodies of a dump's messages (an error raises OSError)."""
        seq, message = self._with_seq(genl(self.family, cmd, attrs, NLM_F_REQUEST | NLM_F_DUMP))
        self.sock.send(message)
        while True:
            for kind, got, body in messages(self._recv()):
                if got != seq:
                    continue
                if kind in (NLMSG_DONE, NLMSG_ERROR):  # both end the dump, with the errno it failed with
                    code = -NLMSG_ERROR_CODE.unpack_from(body)[0] if len(body) >= NLMSG_ERROR_CODE.size else 0
                    if code > 0:
                        raise OSError(code, os.strerror(code))
                    return
                yield body

    def get(self, cmd: int, attrs: bytes) -> bytes | None:
        """The body of the one entry a non-dump request names; None when the kernel has none
        (ESRCH/ENOENT); another error raises OSError."""
        seq, message = self._with_seq(genl(self.family, cmd, attrs, NLM_F_REQUEST))
        self.sock.send(message)
        while True:
            for kind, got, body in messages(self._recv()):
                if got != seq:
                    continue
                if kind != NLMSG_ERROR:
                    return body
                code = -NLMSG_ERROR_CODE.unpack_from(body)[0] if len(body) >= NLMSG_ERROR_CODE.size else 0
                if code in (0, errno.ESRCH, errno.ENOENT):
                    return None
                raise OSError(code, os.strerror(code))

    def close(self) -> None:
        self.sock.close()


class IpvsBackend:
    """IPVS in the network namespace this process (its creating thread) runs in."""

    name = "ipvs"
    owns_table = False  # other services (keepalived's, an operator's) share the kernel table

    def __init__(self) -> None:
        self.sock = IpvsSocket()
        self.specs, self.dests = Decoded(spec_from_attrs, False), Decoded(dest_from_attrs, True)

    def _dests(self, spec: ServiceSpec, counts: bool = True) -> list[Dest]:
        bodies = self.sock.dump(CMD_GET_DEST, encode_service(spec, full=False))
        if counts:
            return [dest_from_attrs(attributes(payload(body), 0), spec.key.af) for body in bodies]
        return [self.dests.get(payload(body), spec.key.af) for body in bodies]

    def dump(self, counts: bool = True, servers: Collection[str] | None = None,
             keys: Collection[ServiceKey] | None = None) -> Table:
        """Every service, then one dest dump per service (the kernel names no service in a dest
        dump, so they cannot share one); the counts come with each destination anyway, but
        without ``counts`` an entry seen unchanged in the last dump is not decoded again.
        ``keys``: those services only, each asked for by name (a reconcile's few, not a listing
        of the whole table: 2,000 services at 2,000 x 20)."""
        if keys is not None:
            return self._some(keys)
        specs = [self.specs.get(payload(body)) for body in self.sock.dump(CMD_GET_SERVICE)]
        table: Table = {}
        for spec in specs:
            svc = Service(spec)
            for d in self._dests(spec, counts):
                svc.dests[d.key] = d
            table[spec.key] = svc
        self.specs.turn()
        if not counts:
            self.dests.turn()
        return table

    def _some(self, keys: Collection[ServiceKey]) -> Table:
        table: Table = {}
        for key in keys:
            body = self.sock.get(CMD_GET_SERVICE, encode_service(ServiceSpec(key), full=False))
            if body is None:  # not in the kernel
                continue
            svc = Service(spec_from_attrs(attributes(payload(body), 0)))
            for d in self._dests(svc.spec):
                svc.dests[d.key] = d
            table[key] = svc
        return table

    def dests_of(self, keys: Sequence[ServiceKey], addr: str) -> dict[ServiceKey, list[Dest]]:
        """One dest dump per service of this virtual server (not the whole table); a service
        the kernel does not hold (yet) reads as none."""
        return {key: [d for d in self._dests(ServiceSpec(key)) if d.addr == addr] for key in keys}

    def apply(self, ops: Sequence[Op]) -> list[Applied]:
        """Apply in order; a refused op is reported and the rest still sent (as keepalived does)."""
        encoded: list[bytes] = []
        sent: list[Op] = []
        refused: dict[int, str] = {}
        for i, op in enumerate(ops):
            try:
                encoded.append(encode_op(self.sock.family, op))
                sent.append(op)
            except (ValueError, KeyError, OSError) as exc:  # an action or a value the kernel cannot take
                refused[i] = f"{type(exc).__name__}: {exc}"
        codes = iter(self.sock.request(encoded) if encoded else [])
        out = []
        for i, op in enumerate(ops):
            if i in refused:
                out.append(Applied(op, refused[i]))
                continue
            code = next(codes)
            out.append(Applied(op, f"{os.strerror(code)} ({errno.errorcode.get(code, code)})" if code else None))
        return out

    def close(self) -> None:
        self.sock.close()
