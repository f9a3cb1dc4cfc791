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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
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
    servers: list[RsView]
    errors: list[str] = field(default_factory=list)
    services: dict[str, list[ServiceKey]] = field(default_factory=dict)  # per virtual server


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


def assemble(parts: Iterable[VsPart]) -> Desired:
    """The parts, in config order, as one Desired; two blocks naming one service share it
    (their destinations merged, the first block's first), as keepalived does."""
    out = Desired({}, {}, [], [])
    for part in parts:
        out.errors += part.errors
        if part.quorum is None:
            continue
        out.services[part.vkey] = part.keys
        out.quorum[part.vkey] = part.quorum
        out.events += part.events
        for key, svc in part.services.items():
            have = out.table.get(key)
            if have is None:
                out.table[key] = svc  # shared with the part: read only
            else:
                merged = Service(have.spec, dict(have.dests))
                for dk, d in svc.dests.items():
                    merged.dests.setdefault(dk, d)
                out.table[key] = merged
        out.servers += part.views
    return out


def compute(config: Config, health: Mapping[tuple[str, RsKey], Health], overrides: Overrides,
            quorum: Mapping[str, bool]) -> Desired:
    return assemble(compute_vs(vs, config.virtual_server_groups, health, overrides, quorum.get(vs.key))
                    for vs in config.virtual_servers)
