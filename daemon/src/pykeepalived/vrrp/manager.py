"""All VRRP instances of one config: build, wire tracking, start, stop, status.

The daemon's main loop owns one ``VrrpManager``; a reload (issue 6) will
diff two configs here and touch only the instances that changed.
"""
from __future__ import annotations

import asyncio
import logging

from ..config.model import Config
from ..net.links import LinkWatcher
from .instance import Instance, Runtime
from .track import ScriptTracker, Tracked, script_weight

log = logging.getLogger(__name__)


class VrrpManager:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.runtime = Runtime()
        self.instances: dict[str, Instance] = {}
        self.scripts: dict[str, ScriptTracker] = {}
        self.links = LinkWatcher()

    async def start(self) -> None:
        """Open every instance (refusing to run half-configured), wire tracking, start."""
        all_vips = {v.address.ip for inst in self.config.vrrp_instances.values()
                    for v in inst.virtual_ipaddress + inst.virtual_ipaddress_excluded}
        for spec in self.config.vrrp_instances.values():
            inst = Instance(spec, self.config, self.runtime)
            self.instances[spec.name] = inst
            await inst.open(all_vips)
            self._wire(inst)
        for inst in self.instances.values():
            inst.start()
        for tracker in self.scripts.values():
            tracker.start()
        self.links.start()

    def _wire(self, inst: Instance) -> None:
        """Subscribe ``inst`` to its vrrp_scripts and interfaces (RFC-external, keepalived)."""
        spec = inst.spec
        for ref in spec.track_script:
            vs = self.config.vrrp_scripts[ref.name]
            tracker = self.scripts.setdefault(ref.name, ScriptTracker(vs))
            tracked = Tracked(f"script:{ref.name}", script_weight(vs, ref.weight, ref.reverse), tracker.up)
            inst.add_tracked(tracked)
            tracker.listen(lambda up, t=tracked: self._live(inst) and inst.tracked_changed(t, up))
        links = [(ref.name, ref.weight or 0, ref.reverse) for ref in spec.track_interface]
        if not spec.dont_track_primary and spec.interface not in {name for name, _, _ in links}:
            links.append((spec.interface, 0, False))
        for name, weight, reverse in links:
            tracked = Tracked(f"interface:{name}", -weight if reverse else weight)
            inst.add_tracked(tracked)
            self.links.watch(name, lambda up, t=tracked: self._live(inst) and inst.tracked_changed(t, up))

    def _live(self, inst: Instance) -> bool:
        """False for an instance a reload stopped (its tracker callbacks become no-ops)."""
        return self.instances.get(inst.name) is inst

    async def reload(self, config: Config) -> dict[str, list[str]]:
        """Apply ``config`` as a diff (core/reload.py): unchanged instances are not touched."""
        from ..core.reload import reload_vrrp
        return await reload_vrrp(self, config)

    async def stop(self) -> None:
        """Masters send priority 0 and drop their VIPs; then everything we added goes."""
        for tracker in self.scripts.values():
            await tracker.stop()
        await self.links.stop()
        await asyncio.gather(*(inst.stop() for inst in self.instances.values()))
        await self.runtime.addresses.remove_all()
        await self.runtime.notifier.drain()
        self.runtime.sockets.close()

    def status(self) -> dict[str, object]:
        return {
            "instances": [inst.status() for inst in self.instances.values() if inst.router is not None],
            "socket_drops": self.runtime.sockets.drops(),
            "scripts": {name: {"up": t.up} for name, t in self.scripts.items()},
        }
