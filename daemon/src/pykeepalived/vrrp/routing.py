"""Routes, rules and static addresses of a config, as netlink needs them (no I/O itself;
an adapter module because net/ specs come with their socket code), and an
instance's VMAC (``use_vmac``, net/vmac.py).

keepalived's ``static_ipaddress`` / ``static_routes`` / ``static_rules`` are set
when the VRRP process starts and removed when it stops; an instance's
``virtual_routes`` / ``virtual_rules`` follow its VIPs (vrrp/instance.py).
"""
from __future__ import annotations

from ..config.effective import is_strict
from ..config.model import Config
from ..config.model_vrrp import IPNetwork, Route, Rule, VirtualIp, VrrpInstance
from ..net.addresses import VipSpec
from ..net.routes import RT_TABLE_MAIN, RTPROT_KEEPALIVED, NexthopSpec, RouteSpec, RuleSpec
from ..net.vmac import VmacSpec, virtual_mac, vmac_name


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


def vmac_spec(inst: VrrpInstance, config: Config) -> VmacSpec | None:
    """The instance's VMAC: ``use_vmac NAME`` or vmac_prefix.VRID (default vrrp.VRID), with the
    configured MAC or RFC 5798's 00:00:5e:00:01|02:VRID; None without use_vmac."""
    vmac = inst.use_vmac
    if vmac is None:
        return None
    name = vmac.name or vmac_name(config.global_defs.vmac_prefix, inst.virtual_router_id)
    mac = bytes.fromhex(vmac.mac.replace(":", "")) if vmac.mac else virtual_mac(inst.virtual_router_id, inst.family)
    return VmacSpec(name, inst.interface, mac, inst.family)


def sends_from_base(inst: VrrpInstance, config: Config) -> bool:
    """vmac_xmit_base: adverts leave from the base interface; keepalived ignores it in strict mode."""
    return inst.use_vmac is not None and inst.vmac_xmit_base and not is_strict(inst, config)


def vip_interface(vip: VirtualIp, inst: VrrpInstance, vmac: str | None) -> str:
    """Where a VIP goes: its ``dev``, else the interface; with a VMAC, the instance's family's
    VIPs that name no other interface go on the VMAC (keepalived's rule)."""
    if vmac is not None and vip.address.version == inst.family and vip.dev in (None, inst.interface):
        return vmac
    return vip.dev or inst.interface
