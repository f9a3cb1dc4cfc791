"""Map a parsed ``vrrp_instance`` onto what the runtime needs (pure, no I/O).

``router_config`` gives the state machine's ``RouterConfig``; the instance's
primary address (the advert source and tie-break key, RFC 5798 6.4.3) is
found on the interface at run time and passed in.  Unset per-instance GARP
settings inherit global_defs (keepalived's rule).
"""
from __future__ import annotations

from ..config.effective import effective_instance, effective_version, is_strict
from ..config.model import Config
from ..config.model_vrrp import VrrpInstance
from .events import State
from .packet import AuthType, ChecksumForm, IPAddress
from .router_config import RouterConfig


def router_config(inst: VrrpInstance, config: Config, address: IPAddress) -> RouterConfig:
    """The state machine's view of ``inst`` (after keepalived's strict-mode and VRRPv3
    overrides, config/effective.py), with ``address`` as our primary address."""
    g = config.global_defs
    inst = effective_instance(inst, config).instance

    def pick(own, default):
        return default if own is None else own

    return RouterConfig(
        vrid=inst.virtual_router_id,
        priority=inst.priority,
        address=address,
        virtual_addresses=tuple(v.address.ip for v in inst.virtual_ipaddress),
        version=effective_version(inst, config),
        advert_interval=inst.advert_int,
        preempt=not inst.nopreempt,
        preempt_delay=inst.preempt_delay,
        initial_state=State.MASTER if inst.state == "MASTER" else State.BACKUP,
        auth_type=AuthType.SIMPLE if inst.auth_type == "PASS" else AuthType.NONE,
        auth_pass=(inst.auth_pass or "").encode() if inst.auth_type == "PASS" else b"",
        garp_master_delay=pick(inst.garp_master_delay, g.vrrp_garp_master_delay),
        garp_master_repeat=pick(inst.garp_master_repeat, g.vrrp_garp_master_repeat),
        garp_master_refresh=pick(inst.garp_master_refresh, g.vrrp_garp_master_refresh),
        garp_master_refresh_repeat=pick(inst.garp_master_refresh_repeat, g.vrrp_garp_master_refresh_repeat),
        garp_lower_prio_delay=inst.garp_lower_prio_delay,
        garp_lower_prio_repeat=inst.garp_lower_prio_repeat,
        lower_prio_no_advert=bool(inst.lower_prio_no_advert),
        higher_prio_send_advert=bool(inst.higher_prio_send_advert),
        check_addresses=not pick(inst.skip_check_adv_addr, g.vrrp_skip_check_adv_addr),
        unicast_peers=tuple(p.address for p in inst.unicast_peer),
        unicast_peer_ttls=tuple((p.min_ttl or 0, 255 if p.max_ttl is None else p.max_ttl) for p in inst.unicast_peer),
        multicast_group=multicast_group(inst, config),
        graceful_handover=g.pykeepalived_graceful_handover,
        down_timer_adverts=pick(inst.down_timer_adverts, g.vrrp_down_timer_adverts),
        split_brain_garp=g.pykeepalived_split_brain_garp and not is_strict(inst, config),  # strict: RFC only
        checksum_form=ChecksumForm.MULTICAST_PSEUDO_HEADER if inst.old_unicast_checksum == "old" else ChecksumForm.RFC,
    )


def tracked_route_interfaces(inst: VrrpInstance) -> list[str]:
    """The interfaces of the instance's virtual routes, tracked as an unweighted
    track_interface (down: FAULT), keepalived's rule; ``no_track`` routes, and routes
    naming no interface, are not tracked."""
    out: list[str] = []
    for r in inst.virtual_routes:
        if not r.no_track:
            for dev in (r.dev, *(h.dev for h in r.nexthops)):
                if dev is not None and dev not in out:
                    out.append(dev)
    return out


def multicast_group(inst: VrrpInstance, config: Config) -> IPAddress:
    if inst.mcast_dst_ip is not None:
        return inst.mcast_dst_ip
    return config.global_defs.vrrp_mcast_group4 if inst.family == 4 else config.global_defs.vrrp_mcast_group6
