"""The IPVS backend: the kernel's tables through pyroute2's generic netlink IPVS API.

pyroute2 0.9 quirks (shared/recipes/ipvs-uml.md), and what this file does about them:
- "update" maps to a DELETE command: only add, set and del are ever sent;
- ``IPVSDest.from_message`` reports fwd_method 3 whatever the kernel holds,
  so dumps are decoded from the raw attributes;
- the kernel wants sched, flags, timeout and netmask on every add/set (EINVAL
  otherwise, fwmark services included); an IPv6 netmask is a prefix length in
  host byte order, which pyroute2's ip4addr encoding spells "128.0.0.0".
- its synchronous ``IPVS`` drives a private asyncio loop with
  ``run_until_complete``, which raises "Cannot run the event loop while
  another loop is running" when called from the daemon's loop: every call
  (the socket's creation included) runs in one worker thread that owns the
  socket. The thread is started by the constructor, so it lives in the
  network namespace of the thread that built the backend.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from socket import AF_INET, AF_INET6, htons, ntohs

from pyroute2 import IPVS, IPVSDest, IPVSService

from ..config.model_lvs import Tunnel
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
AF = {4: AF_INET, 6: AF_INET6}


def _netmask_out(af: int, plen: int) -> str:
    if af == 6:
        return f"{plen}.0.0.0"
    return str(ipaddress.IPv4Network(f"0.0.0.0/{plen}").netmask)


def _netmask_in(af: int, raw: str | None) -> int:
    if raw is None:
        return 128 if af == 6 else 32
    if af == 6:
        return int(raw.split(".")[0])
    return ipaddress.IPv4Network(f"0.0.0.0/{raw}").prefixlen


def to_service(spec: ServiceSpec, full: bool = True) -> IPVSService:
    key = spec.key
    kw: dict = {"af": AF[key.af]}
    if key.fwmark:
        kw.update(fwmark=key.fwmark, protocol=PROTO_NUM["TCP"])  # the kernel forces TCP anyway
    else:
        kw.update(addr=key.addr, port=key.port, protocol=PROTO_NUM[key.protocol])
    if full:
        kw.update(sched_name=spec.sched, timeout=spec.timeout,
                  flags={"flags": (F_PERSISTENT if spec.persistent else 0) | spec.flags, "mask": 0xFFFF},
                  netmask=_netmask_out(key.af, spec.netmask))
        if spec.pe_name:  # left out, the kernel drops the engine (a "set" removes it)
            kw.update(pe_name=spec.pe_name)
    return IPVSService(**kw)


def to_dest(d: Dest) -> IPVSDest:
    # pyroute2 declares the tunnel port a host-order uint16; the kernel reads it big-endian
    return IPVSDest(addr=d.addr, port=d.port, fwd_method=FWD_NUM.get(d.method, 0), weight=d.weight,
                    u_thresh=d.u_thresh, l_thresh=d.l_thresh, tun_type=TUN_TYPE[d.tunnel.type],
                    tun_port=htons(d.tunnel.port), tun_flags=TUN_CSUM[d.tunnel.csum])


def _tunnel_in(a: dict) -> Tunnel:
    types = {v: k for k, v in TUN_TYPE.items()}
    csums = {v: k for k, v in TUN_CSUM.items()}
    return Tunnel(types.get(a.get("IPVS_DEST_ATTR_TUN_TYPE") or 0, "ipip"),
                  ntohs(a.get("IPVS_DEST_ATTR_TUN_PORT") or 0),
                  csums.get(a.get("IPVS_DEST_ATTR_TUN_FLAGS") or 0, "nocsum"))


def spec_from_attrs(a: dict) -> ServiceSpec:
    af = 6 if a.get("IPVS_SVC_ATTR_AF") == AF_INET6 else 4
    if a.get("IPVS_SVC_ATTR_FWMARK"):
        key = ServiceKey.mark(af, a["IPVS_SVC_ATTR_FWMARK"])
    else:
        proto = PROTO_NAME.get(a.get("IPVS_SVC_ATTR_PROTOCOL", 0), str(a.get("IPVS_SVC_ATTR_PROTOCOL")))
        key = ServiceKey(af, proto, norm_addr(a["IPVS_SVC_ATTR_ADDR"]), a.get("IPVS_SVC_ATTR_PORT", 0))
    flags = (a.get("IPVS_SVC_ATTR_FLAGS") or {}).get("flags", 0)
    return ServiceSpec(key, a.get("IPVS_SVC_ATTR_SCHED_NAME", ""), bool(flags & F_PERSISTENT),
                       a.get("IPVS_SVC_ATTR_TIMEOUT", 0), _netmask_in(af, a.get("IPVS_SVC_ATTR_NETMASK")),
                       flags & F_SETTABLE, a.get("IPVS_SVC_ATTR_PE_NAME") or "")


def dest_from_attrs(a: dict) -> Dest:
    fwd = a.get("IPVS_DEST_ATTR_FWD_METHOD", 0) & FWD_MASK
    return Dest(norm_addr(a["IPVS_DEST_ATTR_ADDR"]), a.get("IPVS_DEST_ATTR_PORT", 0),
                FWD_NAME.get(fwd, str(fwd)), a.get("IPVS_DEST_ATTR_WEIGHT", 0),
                a.get("IPVS_DEST_ATTR_U_THRESH", 0), a.get("IPVS_DEST_ATTR_L_THRESH", 0), _tunnel_in(a),
                a.get("IPVS_DEST_ATTR_ACTIVE_CONNS", 0), a.get("IPVS_DEST_ATTR_INACT_CONNS", 0),
                a.get("IPVS_DEST_ATTR_PERSIST_CONNS", 0))


class IpvsBackend:
    """IPVS in the network namespace this process runs in."""

    name = "ipvs"
    owns_table = False  # other services (keepalived's, an operator's) share the kernel table

    def __init__(self) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ipvs")
        try:
            self.sock = self._run(IPVS)
        except BaseException:
            self._worker.shutdown()
            raise

    def _run(self, fn: Callable, *args: object):
        """Run ``fn`` in the socket's thread and wait for it (netlink calls take microseconds)."""
        return self._worker.submit(fn, *args).result()

    def dump(self, counts: bool = True, servers: Collection[str] | None = None) -> Table:
        return self._run(self._dump)  # the kernel sends the counts with each destination anyway

    def _dump(self) -> Table:
        table: Table = {}
        for msg in self.sock.service("dump"):
            spec = spec_from_attrs(dict(msg.get("IPVS_CMD_ATTR_SERVICE")["attrs"]))
            svc = Service(spec)
            for dm in self.sock.dest("dump", service=to_service(spec, full=False)):
                d = dest_from_attrs(dict(dm.get("IPVS_CMD_ATTR_DEST")["attrs"]))
                svc.dests[d.key] = d
            table[spec.key] = svc
        return table

    def dests_of(self, keys: Sequence[ServiceKey], addr: str) -> dict[ServiceKey, list[Dest]]:
        return self._run(self._dests_of, keys, addr)

    def _dests_of(self, keys: Sequence[ServiceKey], addr: str) -> dict[ServiceKey, list[Dest]]:
        """One dest dump per service of this virtual server (not the whole table)."""
        out: dict[ServiceKey, list[Dest]] = {}
        for key in keys:
            try:
                msgs = self.sock.dest("dump", service=to_service(ServiceSpec(key), full=False))
            except Exception:  # NetlinkError: the service is not in the kernel (yet)
                continue
            dests = [dest_from_attrs(dict(m.get("IPVS_CMD_ATTR_DEST")["attrs"])) for m in msgs]
            out[key] = [d for d in dests if d.addr == addr]
        return out

    def _one(self, op: Op) -> None:
        if op.action not in ("add", "set", "del"):
            raise ValueError(f"refusing IPVS action {op.action!r}")  # "update" would DELETE
        if op.dest is None:
            self.sock.service(op.action, service=to_service(op.service, full=op.action != "del"))
        else:
            self.sock.dest(op.action, service=to_service(op.service, full=False), dest=to_dest(op.dest))

    def apply(self, ops: Sequence[Op]) -> list[Applied]:
        return self._run(self._apply, ops)

    def _apply(self, ops: Sequence[Op]) -> list[Applied]:
        out = []
        for op in ops:
            try:
                self._one(op)
                out.append(Applied(op))
            except Exception as exc:  # NetlinkError and friends: report, keep going
                out.append(Applied(op, f"{type(exc).__name__}: {exc}"))
        return out

    def close(self) -> None:
        self._run(self.sock.close)
        self._worker.shutdown()
