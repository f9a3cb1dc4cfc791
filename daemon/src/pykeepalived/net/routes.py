"""Routes and policy rules over rtnetlink: keepalived's static_/virtual_ routes and rules.

``encode_route`` and ``encode_rule`` are pure (RTM_NEWROUTE/RTM_DELROUTE with
``struct rtmsg``, RTM_NEWRULE/RTM_DELRULE with ``struct fib_rule_hdr``,
linux/rtnetlink.h and linux/fib_rules.h); ``RoutingManager`` sends them on
the VRRP process' rtnetlink socket (net/rtnl.py, no pyroute2 there).

Ownership, as for the VIPs (net/addresses.py): an add is exclusive, so the
kernel answers "exists" for a route or rule someone else put there, and that
one is never marked ours, never removed.  With a ``state`` file (the daemon
uses ``RUNTIME_DIR/routes.json``) every entry is recorded before it is added
and dropped after it is removed; ``adopt()`` at the next start takes the
record back as ours, so what a crashed daemon left is removed in time (a
delete of an entry that is gone is harmless, and one that names protocol 18
cannot match an administrator's route).  Everything is written with a
protocol (keepalived's own, 18, unless the config names one) and a delete
names it: the kernel only matches a route or rule of that protocol
(fib_table_delete, ip6_route_del, fib_rules' rule_find), so a delete cannot
take an administrator's entry with the same destination.
"""
from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..compat import SLOTS, zip_strict
from .rtnl import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, encode_attr, encode_message

log = logging.getLogger(__name__)

RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol, scope, type, flags
FIB_RULE_HDR = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, res1, res2, action, flags
RTNEXTHOP = struct.Struct("=HBBi")  # len, flags, hops, ifindex

RTM_NEWROUTE, RTM_DELROUTE, RTM_NEWRULE, RTM_DELRULE = 24, 25, 32, 33
RTA_DST, RTA_SRC, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_PREFSRC = 1, 2, 4, 5, 6, 7
RTA_METRICS, RTA_MULTIPATH, RTA_TABLE = 8, 9, 15
RTAX_MTU = 2
NLA_F_NESTED = 0x8000
RTN_TYPES = {"unicast": 1, "blackhole": 6, "unreachable": 7, "prohibit": 8, "throw": 9}
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_NOWHERE = 0, 253, 255
RT_TABLE_COMPAT, RT_TABLE_MAIN = 252, 254
RTNH_F_ONLINK = 4
RTPROT_KEEPALIVED = 18
FRA_DST, FRA_SRC, FRA_IIFNAME, FRA_GOTO, FRA_PRIORITY, FRA_FWMARK = 1, 2, 3, 4, 6, 10
FRA_SUPPRESS_IFGROUP, FRA_SUPPRESS_PREFIXLEN, FRA_TABLE, FRA_FWMASK, FRA_OIFNAME, FRA_PROTOCOL = 13, 14, 15, 16, 17, 21
FR_ACTIONS = {"table": 1, "goto": 2, "nop": 3, "blackhole": 6, "unreachable": 7, "prohibit": 8}
FIB_RULE_INVERT = 2


Prefix = tuple[str, int]  # (address, length)


@dataclass(frozen=True, **SLOTS)
class NexthopSpec:
    via: str | None = None
    dev: str | None = None
    weight: int = 1
    onlink: bool = False


@dataclass(frozen=True, **SLOTS)
class RouteSpec:
    """One route as netlink needs it (a resolved ``Route`` line)."""

    family: int  # 4 | 6
    dst: Prefix
    type: str = "unicast"
    table: int = RT_TABLE_MAIN
    protocol: int = RTPROT_KEEPALIVED
    scope: int | None = None
    via: str | None = None
    dev: str | None = None
    src: str | None = None  # preferred source
    from_prefix: Prefix | None = None
    metric: int | None = None
    mtu: int | None = None
    onlink: bool = False
    nexthops: tuple[NexthopSpec, ...] = ()

    def __str__(self) -> str:
        words = [] if self.type == "unicast" else [self.type]
        words.append(f"{self.dst[0]}/{self.dst[1]}")
        words += [f"via {self.via}"] if self.via else []
        words += [f"nexthop via {h.via}" for h in self.nexthops]
        words += [f"dev {self.dev}"] if self.dev else []
        words += [f"table {self.table}"] if self.table != RT_TABLE_MAIN else []
        words += [f"metric {self.metric}"] if self.metric is not None else []
        return " ".join(words)


@dataclass(frozen=True, **SLOTS)
class RuleSpec:
    """One policy rule as netlink needs it (a resolved ``Rule`` line)."""

    family: int
    action: str = "table"
    table: int | None = None
    src: Prefix | None = None
    dst: Prefix | None = None
    invert: bool = False
    goto: int | None = None
    priority: int | None = None
    iif: str | None = None
    oif: str | None = None
    fwmark: int | None = None
    fwmask: int | None = None
    tos: int = 0
    suppress_prefixlength: int | None = None
    suppress_ifgroup: int | None = None
    protocol: int = RTPROT_KEEPALIVED

    def __str__(self) -> str:
        words = ["not"] if self.invert else []
        words += [f"from {self.src[0]}/{self.src[1]}" if self.src else "from all"]
        words += [f"to {self.dst[0]}/{self.dst[1]}"] if self.dst else []
        words += [f"iif {self.iif}"] if self.iif else []
        words += [f"oif {self.oif}"] if self.oif else []
        words += [f"fwmark {self.fwmark:#x}"] if self.fwmark is not None else []
        words += [f"priority {self.priority}"] if self.priority is not None else []
        words += [f"table {self.table}" if self.action == "table" else
                  f"goto {self.goto}" if self.action == "goto" else self.action]
        return " ".join(words)


# -- encoders (pure) -------------------------------------------------------------------

def _af(family: int) -> int:
    return socket.AF_INET6 if family == 6 else socket.AF_INET


def _u32(kind: int, value: int) -> bytes:
    return encode_attr(kind, struct.pack("=I", value))


def _addr(kind: int, family: int, address: str) -> bytes:
    return encode_attr(kind, socket.inet_pton(_af(family), address))


def _message(kind: int, add: bool, body: bytes) -> bytes:
    flags = NLM_F_REQUEST | NLM_F_ACK | ((NLM_F_CREATE | NLM_F_EXCL) if add else 0)
    return encode_message(kind, flags, body)


def _multipath(route: RouteSpec, ifindex: Callable[[str], int]) -> bytes:
    out = b""
    for hop in route.nexthops:
        attrs = _addr(RTA_GATEWAY, route.family, hop.via) if hop.via else b""
        dev = hop.dev or route.dev
        out += RTNEXTHOP.pack(RTNEXTHOP.size + len(attrs), RTNH_F_ONLINK if hop.onlink else 0, hop.weight - 1,
                              ifindex(dev) if dev else 0) + attrs
    return encode_attr(RTA_MULTIPATH, out)


def encode_route(add: bool, route: RouteSpec, ifindex: Callable[[str], int]) -> bytes:
    """RTM_NEWROUTE (create, exclusive) or RTM_DELROUTE of ``route``, sequence 0.
    ``ifindex`` resolves interface names (socket.if_nametoindex; OSError when absent)."""
    gateway = route.via is not None or any(h.via for h in route.nexthops)
    if not add:
        scope = RT_SCOPE_NOWHERE  # a delete matches any scope
    elif route.scope is not None:
        scope = route.scope
    else:  # ip(8)'s choice: a unicast route without a gateway is on-link
        scope = RT_SCOPE_LINK if route.type == "unicast" and not gateway else RT_SCOPE_UNIVERSE
    table = route.table if route.table < 256 else RT_TABLE_COMPAT
    body = RTMSG.pack(_af(route.family), route.dst[1], route.from_prefix[1] if route.from_prefix else 0, 0,
                      table, route.protocol, scope, RTN_TYPES[route.type], RTNH_F_ONLINK if route.onlink else 0)
    body += _u32(RTA_TABLE, route.table)
    if route.dst[1]:
        body += _addr(RTA_DST, route.family, route.dst[0])
    if route.from_prefix:
        body += _addr(RTA_SRC, route.family, route.from_prefix[0])
    if route.via:
        body += _addr(RTA_GATEWAY, route.family, route.via)
    if route.dev and not route.nexthops:
        body += _u32(RTA_OIF, ifindex(route.dev))
    if route.src:
        body += _addr(RTA_PREFSRC, route.family, route.src)
    if route.metric is not None:
        body += _u32(RTA_PRIORITY, route.metric)
    if route.mtu is not None and add:
        body += encode_attr(RTA_METRICS | NLA_F_NESTED, _u32(RTAX_MTU, route.mtu))
    if route.nexthops:
        body += _multipath(route, ifindex)
    return _message(RTM_NEWROUTE if add else RTM_DELROUTE, add, body)


def encode_rule(add: bool, rule: RuleSpec) -> bytes:
    """RTM_NEWRULE (exclusive) or RTM_DELRULE of ``rule``, sequence 0."""
    table = rule.table or 0
    body = FIB_RULE_HDR.pack(_af(rule.family), rule.dst[1] if rule.dst else 0, rule.src[1] if rule.src else 0,
                             rule.tos, table if table < 256 else RT_TABLE_COMPAT, 0, 0, FR_ACTIONS[rule.action],
                             FIB_RULE_INVERT if rule.invert else 0)
    if rule.table:
        body += _u32(FRA_TABLE, rule.table)
    if rule.src:
        body += _addr(FRA_SRC, rule.family, rule.src[0])
    if rule.dst:
        body += _addr(FRA_DST, rule.family, rule.dst[0])
    if rule.priority is not None:
        body += _u32(FRA_PRIORITY, rule.priority)
    if rule.goto is not None:
        body += _u32(FRA_GOTO, rule.goto)
    for kind, name in ((FRA_IIFNAME, rule.iif), (FRA_OIFNAME, rule.oif)):
        if name:
            body += encode_attr(kind, name.encode() + b"\0")
    for kind, value in ((FRA_FWMARK, rule.fwmark), (FRA_FWMASK, rule.fwmask),
                        (FRA_SUPPRESS_PREFIXLEN, rule.suppress_prefixlength),
                        (FRA_SUPPRESS_IFGROUP, rule.suppress_ifgroup)):
        if value is not None:
            body += _u32(kind, value)
    body += encode_attr(FRA_PROTOCOL, bytes([rule.protocol]))
    return _message(RTM_NEWRULE if add else RTM_DELRULE, add, body)


# -- the adapter -------------------------------------------------------------------------

GONE = (0, errno.ESRCH, errno.ENOENT, errno.ENODEV)  # removed, or someone removed it already


class RoutingManager:
    """Adds and removes routes and rules; remembers which ones it added (shared by all instances)."""

    def __init__(self, state: Path | str | None = None) -> None:
        self._ours: set = set()  # RouteSpec and RuleSpec entries
        self._sock = None
        self.state = Path(state) if state is not None else None

    # -- the record of what we added (survives a crash) -------------------------
    def _save(self, extra: frozenset | set = frozenset()) -> None:
        if self.state is None:
            return
        entries = [{"kind": _kind(e), **dataclasses.asdict(e)} for e in self._ours | set(extra)]
        entries.sort(key=lambda d: json.dumps(d, sort_keys=True))
        self.state.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state.with_name(self.state.name + ".tmp")
        tmp.write_text(json.dumps({"added": entries}))
        os.replace(tmp, self.state)

    def adopt(self) -> set:
        """Take back what the record says a previous daemon added (a crash left it)."""
        if self.state is None:
            return set()
        try:
            data = json.loads(self.state.read_text())
            adopted = {_entry(d) for d in data.get("added", [])}
        except FileNotFoundError:
            return set()
        except (OSError, ValueError, TypeError, AttributeError, KeyError) as err:
            log.warning("%s unreadable (%s): adopting nothing", self.state, err)
            return set()
        for entry in sorted(adopted, key=str):
            log.warning("%s %s: added by a previous daemon (crash?), adopted as ours", _kind(entry), entry)
        self._ours |= adopted
        return adopted

    def _send(self, messages: list[bytes]) -> list[int]:
        if self._sock is None:
            from .rtnl import AddressSocket  # noqa: PLC0415
            self._sock = AddressSocket()
        try:
            return self._sock.request(messages)
        except OSError as err:
            return [err.errno or errno.EIO] * len(messages)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _encode(self, add: bool, entry) -> bytes:
        if isinstance(entry, RouteSpec):
            return encode_route(add, entry, socket.if_nametoindex)
        return encode_rule(add, entry)

    def owns(self, entry) -> bool:
        return entry in self._ours

    def add(self, entries: list) -> None:
        """Add each route/rule (routes first: a rule may point at their table); one that
        exists already is left alone and not marked ours."""
        todo, messages = [], []
        for entry in entries:
            if entry in self._ours:
                continue
            try:
                messages.append(self._encode(True, entry))
                todo.append(entry)
            except OSError as err:  # no such interface
                log.error("cannot add %s %s: %s", _kind(entry), entry, err.strerror or err)
        if todo:
            self._save(extra=set(todo))  # recorded before they exist: a crash cannot hide them
        results = self._send(messages) if messages else []
        for entry, err in zip_strict(todo, results):
            if err == 0:
                self._ours.add(entry)
                log.info("added %s %s", _kind(entry), entry)
            elif err == errno.EEXIST:
                log.warning("%s %s exists already: not ours, will not remove it", _kind(entry), entry)
            else:
                log.error("cannot add %s %s: %s", _kind(entry), entry, os.strerror(err))
        if any(e not in self._ours for e in todo):
            self._save()  # what we did not add leaves the record again

    def remove(self, entries: list) -> None:
        """Remove the routes/rules we added (rules first), in reverse order; others are never touched."""
        mine = [e for e in reversed(entries) if e in self._ours]
        messages, sent = [], []
        for entry in mine:
            try:
                messages.append(self._encode(False, entry))
                sent.append(entry)
            except OSError:  # its interface is gone, and the kernel took the route with it
                self._ours.discard(entry)
        results = self._send(messages) if messages else []
        for entry, err in zip_strict(sent, results):
            if err in GONE:
                self._ours.discard(entry)
                if err == 0:
                    log.info("removed %s %s", _kind(entry), entry)
            else:
                log.error("cannot remove %s %s: %s", _kind(entry), entry, os.strerror(err))
        if mine:
            self._save()

    def remove_all(self) -> None:
        self.remove(sorted(self._ours, key=lambda e: isinstance(e, RouteSpec)))


def _kind(entry) -> str:
    return "route" if isinstance(entry, RouteSpec) else "rule"


def _prefix(value) -> Prefix | None:
    return None if value is None else (str(value[0]), int(value[1]))


def _entry(d: dict):
    """A recorded entry back (JSON has lists where the specs have tuples)."""
    d = dict(d)
    kind = d.pop("kind")
    for key in ("dst", "from_prefix") if kind == "route" else ("src", "dst"):  # a route's src is an address
        d[key] = _prefix(d.get(key))
    if kind == "route":
        d["nexthops"] = tuple(NexthopSpec(**h) for h in d.get("nexthops", ()))
        return RouteSpec(**d)
    return RuleSpec(**d)
