"""Tracking on a ``vrrp_sync_group``: keepalived adds it to every member instance.

keepalived 2.2.7 (vrrp.c, the sync group pass of vrrp_complete_init) adds each
``track_interface`` / ``track_script`` / ``track_file`` / ``track_process`` of
a sync group to each of its member instances, with the group's weight, so a
tracker failing with weight 0 faults every member (and so the group), and a
weighted one moves every member's priority. An object tracked by both the
instance and its group keeps the group's weight unless the instance's is 0
(keepalived logs that the instance's entry should go). A weighted tracker on a
group with an address owner (priority 255) is an error, as in keepalived's -t.

Here, after validation, each member gets a copy of the group's entries marked
with the group's name (``TrackRef.sync_group``): the runtime and the reload
plan read only the members' tracking, the runtime keeps the weights of the
marked ones (a member's own weights are forced to 0 in a sync group, as
keepalived does without ``sync_group_tracking_weight``), and
``pykeepalivedctl format`` writes the marked ones back in the group.
"""

from __future__ import annotations

import dataclasses

from .errors import Diagnostics
from .model import Config
from .model_vrrp import TrackRef, VrrpSyncGroup

KINDS = {"track_interface": None, "track_script": "vrrp_scripts", "track_file": "track_files",
         "track_process": "track_processes"}  # the group's field -> the Config dict its names live in


def move_group_tracking(config: Config, diags: Diagnostics) -> None:
    """Check each group's tracking refs and add them, marked, to its members."""
    for group in config.vrrp_sync_groups.values():
        members = [config.vrrp_instances[n] for n in group.group if n in config.vrrp_instances]
        for kind, where in KINDS.items():
            refs = getattr(group, kind)
            if not refs:
                continue
            refs = tuple(r for r in refs if _defined(r, kind, where, group, config, diags))
            for ref in refs:
                owner = next((m for m in members if m.priority == 255), None)
                if owner is not None and _weight(ref, where, config):
                    diags.error(ref.loc, f"vrrp_sync_group {group.name}: {kind} {ref.name} has a weight but "
                                f"member {owner.name} is the address owner (priority 255): use weight 0")
            setattr(group, kind, refs)
            marked = tuple(dataclasses.replace(r, sync_group=group.name) for r in refs)
            for inst in members:
                setattr(inst, kind, _merged(getattr(inst, kind), marked, inst.name, kind, diags))


def _defined(ref: TrackRef, kind: str, where: str | None, group: VrrpSyncGroup, config: Config,
             diags: Diagnostics) -> bool:
    if where is None or ref.name in getattr(config, where) or (where, ref.name) in diags.broken:
        return True
    block = {"vrrp_scripts": "vrrp_script", "track_files": "track_file", "track_processes": "vrrp_track_process"}[where]
    diags.error(ref.loc, f"vrrp_sync_group {group.name}: {kind} '{ref.name}' is not a defined {block}")
    return False


def _weight(ref: TrackRef, where: str | None, config: Config) -> int:
    if ref.weight is not None:
        return ref.weight
    obj = getattr(config, where).get(ref.name) if where else None
    return getattr(obj, "weight", 0) if obj is not None else 0


def _merged(own: tuple[TrackRef, ...], group_refs: tuple[TrackRef, ...], inst: str, kind: str,
            diags: Diagnostics) -> tuple[TrackRef, ...]:
    by_name = {r.name: r for r in group_refs}
    out = []
    for ref in own:
        theirs = by_name.pop(ref.name, None)
        if theirs is None:
            out.append(ref)
            continue
        diags.warning(ref.loc, f"vrrp_instance {inst}: {kind} {ref.name} is also tracked by its sync group "
                      f"(at {theirs.loc}); " + ("weight 0 here is kept" if ref.weight == 0 else
                                                "the group's weight applies: remove this entry"))
        out.append(ref if ref.weight == 0 else theirs)
    out.extend(by_name.values())
    return tuple(out)
