"""All VRRP instances of one config: build, wire tracking, start, stop, status.

The daemon's main loop owns one ``VrrpManager``; a reload (issue 6) will
diff two configs here and touch only the instances that changed.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from ..config.effective import accept_mode
from ..config.model import Config
from ..net.links import LinkWatcher
from ..net.vip_filter import VipFilter
from .group import GroupRunner
from .instance import Instance, Runtime
from .track import FileTracked, FileTracker, ScriptTracker, Tracked, file_weight, script_weight

log = logging.getLogger(__name__)


def blocked_vips(config: Config) -> set:
    """The VIPs (and excluded ones) of every instance without Accept_Mode (net/vip_filter.py)."""
    return {v.address.ip for inst in config.vrrp_instances.values() if not accept_mode(inst, config)
            for v in inst.virtual_ipaddress + inst.virtual_ipaddress_excluded}


class VrrpManager:
    def __init__(self, config: Config, state_dir: str | Path | None = None) -> None:
        self.config = config
        self.runtime = Runtime(config, state_dir)
        self.groups: dict[str, GroupRunner] = {}
        self.files: dict[str, FileTracker] = {}
        self.instances: dict[str, Instance] = {}
        self.scripts: dict[str, ScriptTracker] = {}
        self.links = LinkWatcher()
        self.vip_filter = VipFilter()


    async def start(self) -> None:
        """Open every instance (refusing to run half-configured), wire tracking, start."""
        all_vips = {v.address.ip for inst in self.config.vrrp_instances.values()
                    for v in inst.virtual_ipaddress + inst.virtual_ipaddress_excluded}
        self.runtime.addresses.adopt()  # VIPs a crashed predecessor left (recorded ones only)
        for spec in self.config.vrrp_instances.values():
            inst = Instance(spec, self.config, self.runtime)
            self.instances[spec.name] = inst
            await inst.open(all_vips)
            self._wire(inst)
        for g in self.config.vrrp_sync_groups.values():
            self.groups[g.name] = GroupRunner(g, [self.instances[n] for n in g.group], self.runtime)
        await self.runtime.fifos.open()
        self.vip_filter.apply(blocked_vips(self.config))  # before any instance can take a VIP
        for inst in self.instances.values():
            inst.start()
        for tracker in (*self.scripts.values(), *self.files.values()):
            tracker.start()
        self.links.start()

    def _wire(self, inst: Instance) -> None:
        """Subscribe ``inst`` to its vrrp_scripts and interfaces (RFC-external, keepalived)."""
        spec = inst.spec
        # keepalived: a sync group member's tracking weights are forced to 0 (FAULT), so
        # the members never disagree on who should be master
        synced = any(spec.name in g.group for g in self.config.vrrp_sync_groups.values())
        for ref in spec.track_file:
            tf = self.config.track_files[ref.name]
            ftracker = self.files.setdefault(ref.name, FileTracker(tf))
            weight = 0 if synced else file_weight(tf, ref.weight, ref.reverse)
            ftracked = FileTracked(f"file:{ref.name}", weight, value=ftracker.value)
            inst.add_tracked(ftracked)
            ftracker.listen(lambda v, t=ftracked: self._live(inst) and inst.tracked_value(t, v))
        for ref in spec.track_script:
            vs = self.config.vrrp_scripts[ref.name]
            tracker = self.scripts.setdefault(ref.name, ScriptTracker(vs))
            weight = 0 if synced else script_weight(vs, ref.weight, ref.reverse)
            tracked = Tracked(f"script:{ref.name}", weight, tracker.up)
            inst.add_tracked(tracked)
            tracker.listen(lambda up, t=tracked: self._live(inst) and inst.tracked_changed(t, up))
        links = [(ref.name, ref.weight or 0, ref.reverse) for ref in spec.track_interface]
        if not spec.dont_track_primary and spec.interface not in {name for name, _, _ in links}:
            links.append((spec.interface, 0, False))
        for name, weight, reverse in links:
            tracked = Tracked(f"interface:{name}", 0 if synced else -weight if reverse else weight)
            inst.add_tracked(tracked)
            self.links.watch(name, lambda up, t=tracked: self._live(inst) and inst.tracked_changed(t, up))

    def _live(self, inst: Instance) -> bool:
        """False for an instance a reload stopped (its tracker callbacks become no-ops)."""
        return self.instances.get(inst.name) is inst

    async def reload(self, config: Config) -> dict[str, list[str]]:
        """Apply ``config`` as a diff (core/reload.py): unchanged instances are not touched."""
        from ..core.reload import reload_vrrp
        result = await reload_vrrp(self, config)
        for inst in self.instances.values():  # a reload ends every "resign" (docs/operations.md)
            inst.set_resigned(False)
        return result

    def shutdown(self) -> None:
        """Every master sends priority 0 now (synchronous; ``stop`` finishes): with the graceful
        handover it keeps its VIPs until the new master speaks, else it drops them now."""
        for inst in self.instances.values():
            inst.shutdown()

    def set_resigned(self, names: list[str] | None, resigned: bool) -> dict[str, object]:
        """``resign``/``unresign`` NAMES (None: all).  A sync group moves as a whole, so naming
        one member names its group.  Unknown names change nothing (ValueError)."""
        unknown = [n for n in names or () if n not in self.instances]
        if unknown:
            raise ValueError(f"no vrrp_instance {', '.join(map(repr, unknown))} "
                             f"(instances: {', '.join(self.instances) or 'none'})")
        chosen = list(self.instances) if names is None else list(dict.fromkeys(names))
        for group in self.groups.values():
            if any(m.name in chosen for m in group.members):
                chosen += [m.name for m in group.members if m.name not in chosen]
        changed = [n for n in chosen if self.instances[n].set_resigned(resigned)]
        verb = "resigned" if resigned else "unresigned"
        return {"changed": bool(changed), "instances": changed,
                "message": f"{verb}: {', '.join(changed)}" if changed else f"nothing to do: already {verb}"}

    async def stop(self) -> None:
        """Masters send priority 0 first (the backup's Skew_Time runs from that advert, RFC 5798
        6.4.3) and hand over (each at most its Master_Down_Interval, all at once); then trackers
        stop and everything we added goes."""
        await asyncio.gather(*(inst.stop() for inst in self.instances.values()))
        for tracker in (*self.scripts.values(), *self.files.values()):
            await tracker.stop()
        await self.links.stop()
        self.runtime.addresses.remove_all()
        self.runtime.addresses.close()
        self.vip_filter.clear()
        for group in self.groups.values():
            group.stopped()
        await self.runtime.notifier.drain()
        await self.runtime.mailer.close()
        await self.runtime.fifos.close()
        self.runtime.sockets.close()

    def status(self) -> dict[str, object]:
        return {
            "instances": [inst.status() for inst in self.instances.values() if inst.router is not None],
            "socket_drops": self.runtime.sockets.drops(),
            "scripts": {name: {"up": t.up} for name, t in self.scripts.items()},
            "track_files": {name: {"value": t.value} for name, t in self.files.items()},
            "sync_groups": [g.status() for g in self.groups.values()],
            "notify_fifos": self.runtime.fifos.status(),
            "smtp": self.runtime.mailer.status(),
        }
