"""Routes, rules and static addresses of a config, as netlink needs them (no I/O itself;
an adapter module because net/ specs come with their socket code).

keepalived's ``static_ipaddress`` / ``static_routes`` / ``static_rules`` are set
when the VRRP process starts and removed when it stops; an instance's
``virtual_routes`` / ``virtual_rules`` follow its VIPs (vrrp/instance.py).
"""
from __future__ import annotations

from ..config.model import Config
from ..config.model_vrrp import IPNetwork, Route, Rule, VirtualIp, VrrpInstance
from ..net.addresses import VipSpec
from ..net.routes import RT_TABLE_MAIN, RTPROT_KEEPALIVED, NexthopSpec, RouteSpec, RuleSpec


def _prefix(net: IPNetwork | None) -> tuple[str, int] | None:
    return None if net is None else (str(net.network_address), net.prefixlen)


def route_spec(r: Route) -> RouteSpec:
    return RouteSpec(
        family=r.family, dst=(str(r.dst.network_address), r.dst.prefixlen), type=r.type,
        table=RT_TABLE_MAIN if r.table is None else r.table,
        protocol=RTPROT_KEEPALIVED if r.protocol is None else r.protocol, scope=r.scope,
        via=None if r.via is None else str(r.via), dev=r.dev, src=None if r.src is None else str(r.src),
        from_prefix=_prefix(r.from_prefix), metric=r.metric, mtu=r.mtu, onlink=r.onlink,
        nexthops=tuple(NexthopSpec(None if h.via is None else str(h.via), h.dev, h.weight, h.onlink)
                       for h in r.nexthops))


def rule_spec(r: Rule) -> RuleSpec:
    return RuleSpec(
        family=r.family, action=r.action, table=r.table, src=_prefix(r.from_prefix), dst=_prefix(r.to),
        invert=r.invert, goto=r.goto, priority=r.priority, iif=r.iif, oif=r.oif, fwmark=r.fwmark,
        fwmask=r.fwmask, tos=r.tos or 0, suppress_prefixlength=r.suppress_prefixlength,
        suppress_ifgroup=r.suppress_ifgroup, protocol=RTPROT_KEEPALIVED if r.protocol is None else r.protocol)


def routing(routes: tuple[Route, ...], rules: tuple[Rule, ...]) -> list:
    """Routes then rules: added in this order, removed in the reverse one."""
    return [route_spec(r) for r in routes] + [rule_spec(r) for r in rules]


def virtual_routing(inst: VrrpInstance) -> list:
    return routing(inst.virtual_routes, inst.virtual_rules)


def static_addresses(config: Config) -> list[VipSpec]:
    dev = config.global_defs.default_interface
    return [static_address(v, dev) for v in config.static_ipaddress]


def static_address(v: VirtualIp, default_dev: str) -> VipSpec:
    return VipSpec(v.address, v.dev or default_dev, v.scope, v.label, v.brd)


def static_routing(config: Config) -> list:
    return routing(config.static_routes, config.static_rules)
