"""Desired state: config + health + runtime overrides -> the table that should exist (pure).

keepalived's rules (check/ipwrapper.c), per virtual_server block:
- a real server's weight is, first match wins: drained -> 0, an operator's
  weight, the checker's dynamic weight (misc_dynamic), the configured weight;
- a down real server leaves the table, or stays at weight 0 with
  inhibit_on_failure;
- quorum: the sum of live weights is compared with ``quorum``; it is gained at
  ``sum >= quorum + hysteresis`` and lost at ``sum < quorum - hysteresis`` (or
  sum 0). Transitions come back as :class:`QuorumChange` events;
- while quorum is lost and a sorry_server is configured, the sorry server is
  the only live destination (real servers leave, or stay at weight 0 with
  inhibit); otherwise the sorry server is absent (weight 0 with
  sorry_server_inhibit).
Quorum state is carried explicitly (in and out) so hysteresis stays pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from operator import attrgetter
from typing import Optional

from ..config.model import Config
from ..config.model_lvs import RealServer, SorryServer, Tunnel, VirtualServer, effective
from .services import rs_key, service_specs
from .table import Dest, Service, ServiceKey, ServiceSpec, Table, norm_addr

RsKey = tuple[str, Optional[int]]
# (VirtualServer.key or None for every virtual server, address, port or None for any port)
Selector = tuple[Optional[str], str, Optional[int]]


@dataclass(frozen=True)
class Health:
    up: bool
    weight: int | None = None  # a checker's dynamic weight (misc_dynamic)


@dataclass
class Overrides:
    drained: set[Selector] = field(default_factory=set)
    weights: dict[Selector, int] = field(default_factory=dict)


@dataclass(frozen=True)
class QuorumChange:
    vs: str
    up: bool
    weight_sum: int
    quorum: int
    hysteresis: int


@dataclass(frozen=True)
class RsView:
    """One real server as the plane sees it (for status)."""

    vs: str
    rs: RsKey
    up: bool
    configured_weight: int
    weight: int  # effective: after drains, operator and checker weights
    drained: bool
    in_table: bool  # present in the desired table (possibly at weight 0)


@dataclass
class Desired:
    table: Table
    quorum: dict[str, bool]
    events: list[QuorumChange]
    parts: list[VsPart] = field(default_factory=list)  # per virtual server, in config order
    errors: list[str] = field(default_factory=list)
    services: dict[str, list[ServiceKey]] = field(default_factory=dict)  # per virtual server

    @property
    def servers(self) -> list[RsView]:
        """Every real server's view, in config order (made when asked: status, not a reload)."""
        return list(chain.from_iterable(map(attrgetter("views"), self.parts)))

    def servers_by_vs(self) -> dict[str, list[RsView]]:
        """The views per virtual server key, in one pass (a lookup per virtual server in
        ``servers`` was quadratic: 6.8 s for a status at 1,000 x 20)."""
        out: dict[str, list[RsView]] = {}
        for part in self.parts:
            out.setdefault(part.vkey, []).extend(part.views)
        return out


def default_health(vs: VirtualServer, rs: RealServer) -> Health:
    """Before any check result: alpha mode starts a checked real server down."""
    alpha = any(effective("alpha", c, rs, vs) for c in rs.checkers)
    return Health(up=not (rs.checkers and alpha))


def _match(sel: Selector, vkey: str, rs: RealServer) -> bool:
    v, addr, port = sel
    return (v is None or v == vkey) and addr == norm_addr(rs.ip) and (port is None or port == rs.port)


def runtime_state(vkey: str, rs: RealServer, ov: Overrides) -> tuple[bool, int | None]:
    """(drained, operator weight or None) of one real server; the most specific weight
    selector wins (one naming the virtual server and port over one that does not)."""
    drained = any(_match(s, vkey, rs) for s in ov.drained)
    weights = [(sum(x is not None for x in (s[0], s[2])), w) for s, w in ov.weights.items() if _match(s, vkey, rs)]
    return drained, max(weights, key=lambda t: t[0])[1] if weights else None


def _weight(vkey: str, rs: RealServer, health: Health, ov: Overrides) -> tuple[int, bool]:
    drained, weight = runtime_state(vkey, rs, ov)
    if drained:
        return 0, True
    if weight is not None:
        return weight, False
    return (health.weight if health.weight is not None else rs.weight), False


def next_quorum(prev: bool | None, weight_sum: int, quorum: int, hysteresis: int) -> bool:
    if prev is None:  # first evaluation: no hysteresis, no event
        return weight_sum > 0 and weight_sum >= quorum
    if prev:
        return not (weight_sum == 0 or weight_sum < quorum - hysteresis)
    return weight_sum >= quorum + hysteresis and weight_sum > 0


def _dest(spec: ServiceSpec, vs: VirtualServer, server: RealServer | SorryServer, weight: int) -> Dest:
    port = spec.key.port if server.port is None else server.port
    # a server naming its own method brings its own tunnel options; one that does not inherits both
    method, tunnel = (server.lvs_method, server.tunnel) if server.lvs_method else (vs.lvs_method, vs.tunnel)
    limits = (server.uthreshold or 0, server.lthreshold or 0) if isinstance(server, RealServer) else (0, 0)
    return Dest(norm_addr(server.ip), port, method, weight, *limits,
                (tunnel or Tunnel()) if method == "TUN" else Tunnel())


@dataclass
class VsPart:
    """One virtual_server block's share of the desired state (what ``compute_vs`` returns)."""

    vkey: str
    services: dict[ServiceKey, Service]
    keys: list[ServiceKey]  # its kernel services, in config order
    quorum: bool | None  # None: no services (an error)
    events: list[QuorumChange]
    views: list[RsView]
    errors: list[str]
    addrs: frozenset[str]  # its real servers' addresses (which operator selectors can touch it)


def compute_vs(vs: VirtualServer, groups: Mapping, health: Mapping[tuple[str, RsKey], Health],
               overrides: Overrides, prev: bool | None) -> VsPart:
    vkey = vs.key
    addrs = frozenset(norm_addr(rs.ip) for rs in vs.real_servers)
    try:
        specs = service_specs(vs, groups)
    except ValueError as exc:
        return VsPart(vkey, {}, [], None, [], [], [f"{vkey}: {exc}"], addrs)
    part = VsPart(vkey, {}, [s.key for s in specs], None, [], [], [], addrs)
    live: list[tuple[RealServer, int, bool]] = []  # (rs, weight, alive)
    views: list[RsView] = []
    weight_sum = 0
    for rs in vs.real_servers:
        h = health.get((vkey, rs_key(rs))) or default_health(vs, rs)
        w, drained = _weight(vkey, rs, h, overrides)
        live.append((rs, w, h.up))
        weight_sum += w if h.up else 0
        views.append(RsView(vkey, rs_key(rs), h.up, rs.weight, w, drained, False))
    up = part.quorum = next_quorum(prev, weight_sum, vs.quorum, vs.hysteresis)
    if prev is not None and prev != up:
        part.events.append(QuorumChange(vkey, up, weight_sum, vs.quorum, vs.hysteresis))
    sorry_active = vs.sorry_server is not None and not up
    present: set[RsKey] = set()
    for spec in specs:
        svc = part.services.setdefault(spec.key, Service(spec))
        for rs, w, alive in live:
            inhibit = bool(effective("inhibit_on_failure", None, rs, vs))
            if alive and not sorry_active:
                d = _dest(spec, vs, rs, w)
            elif inhibit:
                d = _dest(spec, vs, rs, 0)
            else:
                continue
            svc.dests.setdefault(d.key, d)
            present.add(rs_key(rs))
        ss = vs.sorry_server
        if ss is not None and (sorry_active or vs.sorry_server_inhibit):
            d = _dest(spec, vs, ss, 1 if sorry_active else 0)
            svc.dests.setdefault(d.key, d)
    part.views = [replace(v, in_table=v.rs in present) for v in views]
    return part


class Assembly:
    """The desired state kept part by part: an ``update`` that adds, replaces or removes k
    parts costs k (and passes at C speed over the config's order), not the whole config.
    The merge rule lives here only (``assemble`` is one update of every part): two blocks
    naming one kernel service share it, their destinations merged, the first block's first,
    as keepalived does; for a virtual server key named twice the last block's quorum counts."""

    def __init__(self) -> None:
        self.parts: dict[int, VsPart] = {}  # by a caller's id for its block (the id of its object)
        self.table: Table = {}
        self.quorum: dict[str, bool] = {}
        self.services: dict[str, list[ServiceKey]] = {}
        self._users: dict[ServiceKey, list[int]] = {}  # the parts naming each kernel service
        self._named: dict[str, list[int]] = {}  # the parts of each virtual server key
        self._erring: set[int] = set()  # the parts with errors

    def update(self, order: Sequence[int], new: Mapping[int, VsPart], gone: Iterable[int]
               ) -> tuple[Desired, list[ServiceKey]]:
        """``order``: every part's id in config order, after the change; ``new``: parts added or
        replaced; ``gone``: ids no longer in ``order``. Returns the Desired (its events: the new
        parts' only) and the kernel services whose entry may differ, in config order."""
        pos = dict(zip(order, range(len(order))))
        touched: set[ServiceKey] = set()
        vkeys: set[str] = set()
        for i in gone:
            self._leave(i, self.parts.pop(i), touched, vkeys)
        for i, part in new.items():
            old = self.parts.get(i)
            if old is not None:
                self._leave(i, old, touched, vkeys)
            self.parts[i] = part
            for key in part.services:
                self._users.setdefault(key, []).append(i)
            touched.update(part.services)
            self._named.setdefault(part.vkey, []).append(i)
            vkeys.add(part.vkey)
            if part.errors:
                self._erring.add(i)
        changed = sorted(touched, key=lambda k: self._rank(k, pos))
        for key in changed:
            self._merge(key, pos)
        for vkey in vkeys:
            self._name(vkey, pos)
        events = [e for i in sorted(new, key=pos.__getitem__) for e in new[i].events]
        errors = [e for i in sorted(self._erring, key=pos.__getitem__) for e in self.parts[i].errors]
        parts = list(map(self.parts.__getitem__, order))
        return Desired(dict(self.table), dict(self.quorum), events, parts, errors, dict(self.services)), changed

    def named(self, vkey: str) -> list[int]:
        """The ids of the parts of virtual server ``vkey``."""
        return list(self._named.get(vkey, ()))

    def _rank(self, key: ServiceKey, pos: Mapping[int, int]) -> tuple[int, int]:
        """Where ``key`` comes in config order (a service no part names any more: last)."""
        users = self._users.get(key)
        if not users:
            return len(pos), 0
        first = min(users, key=pos.__getitem__)
        return pos[first], self.parts[first].keys.index(key)

    def _leave(self, i: int, old: VsPart, touched: set[ServiceKey], vkeys: set[str]) -> None:
        for key in old.services:
            self._users[key].remove(i)
        touched.update(old.services)
        self._named[old.vkey].remove(i)
        vkeys.add(old.vkey)
        self._erring.discard(i)

    def _merge(self, key: ServiceKey, pos: Mapping[int, int]) -> None:
        users = self._users.get(key)
        if not users:
            self._users.pop(key, None)
            self.table.pop(key, None)
            return
        users.sort(key=pos.__getitem__)
        svc = self.parts[users[0]].services[key]  # shared with the part: read only
        if len(users) > 1:
            svc = Service(svc.spec, dict(svc.dests))
            for i in users[1:]:
                for dk, d in self.parts[i].services[key].dests.items():
                    svc.dests.setdefault(dk, d)
        self.table[key] = svc

    def _name(self, vkey: str, pos: Mapping[int, int]) -> None:
        ids = self._named.get(vkey)
        if not ids:
            self._named.pop(vkey, None)
        counted = [i for i in ids or () if self.parts[i].quorum is not None]
        if not counted:
            self.quorum.pop(vkey, None)
            self.services.pop(vkey, None)
            return
        last = self.parts[max(counted, key=pos.__getitem__)]
        self.quorum[vkey] = last.quorum
        self.services[vkey] = last.keys


def assemble(parts: Iterable[VsPart]) -> Desired:
    """The parts, in config order, as one Desired (``Assembly``)."""
    parts = list(parts)
    return Assembly().update(range(len(parts)), dict(enumerate(parts)), ())[0]


def compute(config: Config, health: Mapping[tuple[str, RsKey], Health], overrides: Overrides,
            quorum: Mapping[str, bool]) -> Desired:
    return assemble(compute_vs(vs, config.virtual_server_groups, health, overrides, quorum.get(vs.key))
                    for vs in config.virtual_servers)
