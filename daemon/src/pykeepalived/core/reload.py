"""Reload as a diff (SIGHUP, ``pykeepalivedctl reload``).

1. ``load_new(path)``: parse and validate; any error -> the errors (each
   ``FILE:LINE:COL: error: ...``) and no config: the caller keeps running the
   old one untouched.
2. ``plan_vrrp(old, new, addresses)``: pure; per instance name, unchanged /
   changed / removed / added.  Unchanged = the model objects are equal
   (dataclass equality, locations excluded), the state machine's view
   (``router_config``) and multicast group are equal, and every vrrp_script it
   tracks is equal.  An unchanged instance keeps its state machine, timers,
   socket and VIPs: not one packet of it changes.
3. ``reload_vrrp(manager, new)``: stops changed and removed instances (a master
   sends priority 0 and releases its VIPs once the new master speaks, except a VIP an unchanged master still
   carries), then opens and starts changed and added ones.

Checkers and virtual servers are diffed by ``check.health.HealthChecker.load``
(``compare()`` keeps results) and ``lb.plane.LoadBalancer.reload`` (see
``core/lbloop.py``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..config.model import Config
from ..vrrp.events import State
from ..vrrp.from_config import multicast_group, router_config
from .judge import judge

if TYPE_CHECKING:
    from ..vrrp.manager import VrrpManager

log = logging.getLogger("pykeepalived.reload")


def load_new(path: str) -> tuple[Config | None, list[str]]:
    """(config, []) when valid, else (None, every error as FILE:LINE:COL: error: MESSAGE)."""
    try:
        judged = judge(path, lb_backend=True)
    except OSError as err:  # the main file vanished or is unreadable
        return None, [f"{path}: error: {err}"]
    if judged.diags.errors:
        return None, [str(d) for d in judged.diags.sorted() if d.severity == "error"]
    for line in [*map(str, judged.diags.warnings), *judged.warnings]:
        log.warning("%s", line)
    if judged.unsafe:
        return None, judged.unsafe
    return judged.config, []


@dataclass
class VrrpPlan:
    unchanged: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    scripts_kept: list[str] = field(default_factory=list)
    files_kept: list[str] = field(default_factory=list)
    groups_kept: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"unchanged": self.unchanged, "changed": self.changed, "removed": self.removed,
                "added": self.added}


def plan_vrrp(old: Config, new: Config, addresses: dict[str, object] | None = None) -> VrrpPlan:
    """Classify instances by name.  ``addresses``: the running primary address per instance."""
    plan = VrrpPlan()
    plan.scripts_kept = [n for n, s in old.vrrp_scripts.items() if new.vrrp_scripts.get(n) == s]
    old_files, new_files = getattr(old, "track_files", {}), getattr(new, "track_files", {})
    plan.files_kept = [n for n, f in old_files.items() if new_files.get(n) == f]
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
    old_groups, new_groups = getattr(old, "vrrp_sync_groups", {}), getattr(new, "vrrp_sync_groups", {})
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
    return plan


def _same(before, after, old: Config, new: Config, plan: VrrpPlan, address) -> bool:
    if before != after:
        return False
    if any(ref.name not in plan.scripts_kept for ref in after.track_script):
        return False
    if any(ref.name not in plan.files_kept for ref in getattr(after, "track_file", ())):
        return False
    if multicast_group(before, old) != multicast_group(after, new):
        return False
    # global_defs the state machine sees (version, timers, ...) must not have changed either
    return address is None or router_config(before, old, address) == router_config(after, new, address)


async def reload_vrrp(manager: VrrpManager, new: Config) -> dict[str, list[str]]:
    """Apply the diff to a running manager; returns what moved (for logs and the control socket)."""
    old = manager.config
    addresses = {n: i.router.config.address for n, i in manager.instances.items() if i.router is not None}
    plan = plan_vrrp(old, new, addresses)
    going = plan.changed + plan.removed
    # a VIP an unchanged master carries stays: stopping another instance must not remove it
    kept_vips = {v.key for n in plan.unchanged for v in manager.instances[n].vips
                 if manager.instances[n].router is not None and manager.instances[n].router.state is State.MASTER}
    stopping = []
    for name in going:
        inst = manager.instances.pop(name, None)
        if inst is None:
            continue
        inst.vips = [v for v in inst.vips if v.key not in kept_vips]
        stopping.append(inst)
    for inst in stopping:
        log.info("(%s) %s: stopping", inst.name, "removed" if inst.name in plan.removed else "changed")
        await inst.stop()
    # vrrp_scripts / track_files: keep equal ones (their state too), restart the rest
    for trackers, kept in ((manager.scripts, plan.scripts_kept), (getattr(manager, "files", {}), plan.files_kept)):
        for name in list(trackers):
            if name not in kept:
                await trackers.pop(name).stop()
    groups = getattr(manager, "groups", {})
    for name in list(groups):
        if name not in plan.groups_kept:
            runner = groups.pop(name)
            if hasattr(runner, "stopped"):
                runner.stopped()
    for name in plan.unchanged:  # same objects, the new model (locations may have moved)
        inst = manager.instances[name]
        inst.spec, inst.config = new.vrrp_instances[name], new
    manager.config = new
    from ..vrrp.instance import Instance  # noqa: PLC0415 (imports asyncio-bound code)

    all_vips = {v.address.ip for i in new.vrrp_instances.values()
                for v in i.virtual_ipaddress + i.virtual_ipaddress_excluded}
    started = []
    for name in plan.changed + plan.added:
        inst = Instance(new.vrrp_instances[name], new, manager.runtime)
        try:
            await inst.open(all_vips)
        except OSError as err:
            log.error("(%s) cannot start: %s", name, err)
            await inst.stop()
            continue
        manager.instances[name] = inst
        manager._wire(inst)
        started.append(inst)
    for gname, group in getattr(new, "vrrp_sync_groups", {}).items():
        if gname not in groups and all(m in manager.instances for m in group.group):
            from ..vrrp.group import GroupRunner  # noqa: PLC0415

            groups[gname] = GroupRunner(group, [manager.instances[m] for m in group.group], manager.runtime)
    vip_filter = getattr(manager, "vip_filter", None)
    if vip_filter is not None:  # Accept_Mode of the new config, before a new instance can take a VIP
        from ..vrrp.manager import blocked_vips  # noqa: PLC0415

        vip_filter.apply(blocked_vips(new))
    for inst in started:
        log.info("(%s) %s: starting", inst.name, "changed" if inst.name in plan.changed else "added")
        inst.start()
    for tracker in (*manager.scripts.values(), *getattr(manager, "files", {}).values()):
        if getattr(tracker, "_task", None) is None:
            tracker.start()
    manager.links.start()  # idempotent; reads the state of links a changed instance now watches
    return plan.as_dict()
