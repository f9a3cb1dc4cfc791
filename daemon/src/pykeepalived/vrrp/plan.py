"""What a new config does to the running VRRP instances (pure: no I/O, no asyncio).

``plan_vrrp(old, new, addresses)`` sorts instances by name into unchanged /
changed / removed / added.  Unchanged = the model objects are equal (dataclass
equality, locations excluded), the state machine's view (``router_config``) and
multicast group are equal, and every vrrp_script / track_file it tracks is
equal.  An unchanged instance keeps its state machine, timers, socket and VIPs:
not one packet of it changes.  Its ``virtual_routes``/``virtual_rules`` may
differ, as long as the interfaces they track do not: ``routing_changed`` names
those instances, whose routes and rules the manager swaps in place (keepalived's
reload diffs them too).  Start is the plan from an empty config (every
instance added); ``vrrp/manager.py`` carries a plan out.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..config.model import Config
from ..config.model_vrrp import VrrpInstance
from .from_config import multicast_group, router_config, tracked_route_interfaces
from .packet import IPAddress


@dataclass
class VrrpPlan:
    unchanged: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    scripts_kept: list[str] = field(default_factory=list)
    files_kept: list[str] = field(default_factory=list)
    processes_kept: list[str] = field(default_factory=list)
    groups_kept: list[str] = field(default_factory=list)
    routing_changed: list[str] = field(default_factory=list)  # unchanged, but new virtual routes/rules

    def as_dict(self) -> dict[str, list[str]]:
        return {"unchanged": self.unchanged, "changed": self.changed, "removed": self.removed,
                "added": self.added}


def plan_vrrp(old: Config, new: Config, addresses: dict[str, IPAddress] | None = None) -> VrrpPlan:
    """Classify instances by name.  ``addresses``: the running primary address per instance."""
    plan = VrrpPlan()
    plan.scripts_kept = [n for n, s in old.vrrp_scripts.items() if new.vrrp_scripts.get(n) == s]
    plan.files_kept = [n for n, f in old.track_files.items() if new.track_files.get(n) == f]
    plan.processes_kept = [n for n, p in old.track_processes.items() if new.track_processes.get(n) == p]
    for name, spec in new.vrrp_instances.items():
        before = old.vrrp_instances.get(name)
        if before is None:
            plan.added.append(name)
        elif _same(before, spec, old, new, plan, (addresses or {}).get(name)):
            plan.unchanged.append(name)
        else:
            plan.changed.append(name)
    plan.removed = [n for n in old.vrrp_instances if n not in new.vrrp_instances]
    # a sync group moves as one: any member or the group itself changed -> every member restarts
    old_groups, new_groups = old.vrrp_sync_groups, new.vrrp_sync_groups
    moving = set(plan.changed + plan.added + plan.removed)
    for gname, group in list(new_groups.items()) + list(old_groups.items()):
        same = old_groups.get(gname) == new_groups.get(gname) and not moving & set(group.group)
        if same:
            if gname not in plan.groups_kept:
                plan.groups_kept.append(gname)
            continue
        for member in group.group:
            if member in plan.unchanged:
                plan.unchanged.remove(member)
                plan.changed.append(member)
    plan.groups_kept = [g for g in plan.groups_kept if not set(new_groups[g].group) - set(plan.unchanged)]
    plan.routing_changed = [n for n in plan.unchanged if _routing(old.vrrp_instances[n]) != _routing(new.vrrp_instances[n])]
    return plan


def _routing(inst: VrrpInstance) -> tuple:
    return inst.virtual_routes, inst.virtual_rules


def _without_routing(inst: VrrpInstance) -> VrrpInstance:
    return replace(inst, virtual_routes=(), virtual_rules=())


def _same(before: VrrpInstance, after: VrrpInstance, old: Config, new: Config, plan: VrrpPlan,
          address: IPAddress | None) -> bool:
    if _without_routing(before) != _without_routing(after):
        return False
    if tracked_route_interfaces(before) != tracked_route_interfaces(after):
        return False  # the instance's link subscriptions change: reopen it
    if any(ref.name not in plan.scripts_kept for ref in after.track_script):
        return False
    if any(ref.name not in plan.files_kept for ref in after.track_file):
        return False
    if any(ref.name not in plan.processes_kept for ref in after.track_process):
        return False
    if any(_bfd_weight(old, ref.name) != _bfd_weight(new, ref.name) for ref in after.track_bfd):
        return False  # a tracked bfd_instance's weight changed: rewire (timers are the session's: bfd/transport.py)
    if multicast_group(before, old) != multicast_group(after, new):
        return False
    # global_defs the state machine sees (version, timers, ...) must not have changed either
    return address is None or router_config(before, old, address) == router_config(after, new, address)


def _bfd_weight(config: Config, name: str) -> tuple[int, bool] | None:
    b = config.bfd_instances.get(name)
    return None if b is None else (b.weight, b.weight_reverse)
