"""All VRRP instances of one config: one lifecycle, ``apply(new)``.

Start is ``apply`` from an empty config (every instance added); a reload
(SIGHUP, ``pykeepalivedctl reload``) is ``apply`` of the diff ``vrrp/plan.py``
computes: changed and removed instances stop (a master sends priority 0 and
releases its VIPs, except a VIP an unchanged master still carries), changed and
added ones open and start, unchanged ones are not touched.  ``stop`` is the
graceful end.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from ..config.effective import accept_mode
from ..config.model import Config
from ..net.links import LinkWatcher
from ..net.promote import PromoteSecondaries
from ..net.vip_filter import VipFilter
from .events import State
from .from_config import tracked_route_interfaces
from .group import GroupRunner
from .instance import Instance, Runtime
from .plan import VrrpPlan, plan_vrrp
from .process_watch import VIEW, ProcessTracker, tracked_weight
from .reload_fifo import state_lines
from .routing import static_addresses, static_routing, virtual_routing
from .rxbufs import size_netlink_sockets, size_vrrp_sockets
from .track import FileTracked, FileTracker, ScriptTracker, Tracked, bfd_weight, file_weight, script_weight

log = logging.getLogger("pykeepalived.reload")  # the logger of these lines before core/reload.py moved here


def blocked_vips(config: Config) -> set:
    """The VIPs (and excluded ones) of every instance without Accept_Mode (net/vip_filter.py)."""
    return {v.address.ip for inst in config.vrrp_instances.values() if not accept_mode(inst, config)
            for v in inst.virtual_ipaddress + inst.virtual_ipaddress_excluded}


class VrrpManager:
    def __init__(self, config: Config, state_dir: str | Path | None = None, bfd=None) -> None:
        """``config`` sets what all instances share (script user, fifos, mail: read once at
        start); no instance runs until ``apply``.  ``bfd``: the BFD child's sessions
        (bfd/events.py EventClient); without it (unsupervised ``-P``) we run our own."""
        self.config = Config()  # what runs: nothing yet
        self.runtime = Runtime(config, state_dir)
        self.groups: dict[str, GroupRunner] = {}
        self.files: dict[str, FileTracker] = {}
        self.instances: dict[str, Instance] = {}
        self.scripts: dict[str, ScriptTracker] = {}
        self.processes: dict[str, ProcessTracker] = {}
        if bfd is None:  # unsupervised: our own sessions (a supervised child hears the BFD child's and
            # never loads the BFD runtime: 0.5 MB with the random module)
            from ..bfd.transport import BfdRunner  # noqa: PLC0415

            bfd = BfdRunner()
        self.bfd = bfd  # up(), listen(), apply(), stop(), status()
        self.links = LinkWatcher()
        # per instance, what undoes its tracker and link subscriptions: the trackers and the
        # watcher outlive a reload, and a callback left behind kept a replaced instance alive
        self._unsubscribe: dict[str, list[Callable[[], None]]] = {}
        self.vip_filter = VipFilter()
        self.promote = PromoteSecondaries()  # vrrp_instance promote_secondaries
        self.started = False
        self._status: tuple[list, list[str]] = ([], [])  # (instances and states, their parts)

    async def apply(self, new: Config) -> dict[str, list[str]]:
        """Make ``new`` the running config; returns what moved (for logs and the control socket).

        The first call is the start: VIPs a crashed predecessor left are adopted first,
        and an instance that cannot open stops the start (no half-configured daemon).
        Later calls are reloads: such an instance is logged and left out."""
        starting, self.started = not self.started, True
        old = self.config
        addresses = {n: i.router.config.address for n, i in self.instances.items() if i.router is not None}
        plan = plan_vrrp(old, new, addresses)
        size_netlink_sockets(new.global_defs, self.links, VIEW)  # before the sockets are used
        if starting:
            self.runtime.addresses.adopt()  # VIPs a crashed predecessor left (recorded ones only)
            adopted = self.runtime.routing.adopt()  # its routes and rules too; those no longer configured go
            wanted = set(static_routing(new)) | {e for i in new.vrrp_instances.values() for e in virtual_routing(i)}
            self.runtime.routing.remove([e for e in adopted if e not in wanted])
        await self._stop_going(plan)
        self.bfd.apply(new.bfd_instances)
        self._apply_static(old, new)
        self.runtime.sockets.set_log_unknown(new.global_defs.log_unknown_vrids)
        for name in plan.unchanged:  # same objects, the new model (locations may have moved)
            inst = self.instances[name]
            inst.spec, inst.config = new.vrrp_instances[name], new
            if name in plan.routing_changed:
                inst.set_routing(virtual_routing(inst.spec))
        self.config = new
        kept_scripts, kept_files, kept_procs = set(self.scripts), set(self.files), set(self.processes)  # running
        started = await self._open(plan.changed + plan.added, strict=starting)
        self.promote.sync({i.spec.interface for i in self.instances.values()
                           if i.spec.promote_secondaries and i.router is not None})
        sized = size_vrrp_sockets(self.instances.values(), new.global_defs)
        if sized:
            log.info("vrrp_rx_bufs_policy: receive buffers %s", sized)
        for gname, group in new.vrrp_sync_groups.items():
            if gname not in self.groups and all(m in self.instances for m in group.group):
                self.groups[gname] = GroupRunner(group, [self.instances[m] for m in group.group], self.runtime)
        if starting:
            await self.runtime.fifos.open()
        self.vip_filter.apply(blocked_vips(new))  # Accept_Mode, before any new instance can take a VIP
        delay = new.global_defs.vrrp_startup_delay if starting else 0.0  # keepalived: not on a reload
        hold = asyncio.get_running_loop().time() + delay if delay else None
        if hold is not None:
            log.info("vrrp_startup_delay: no instance becomes master for %g s", delay)
        for inst in started:
            if not starting:
                log.info("(%s) %s: starting", inst.name, "changed" if inst.name in plan.changed else "added")
            inst.start(hold)
        for trackers, kept in ((self.scripts, kept_scripts), (self.files, kept_files), (self.processes, kept_procs)):
            for name, tracker in trackers.items():
                if name not in kept:
                    tracker.start()
        self.links.start()  # idempotent; reads the state of links a new instance now watches
        if not starting and new.global_defs.fifo_write_vrrp_states_on_reload:
            for line in state_lines([self.groups[n] for n in plan.groups_kept if n in self.groups],
                                    [self.instances[n] for n in plan.unchanged if n in self.instances]):
                self.runtime.fifos.write(line)
        for inst in self.instances.values():  # a reload ends every "resign" (docs/operations.md)
            inst.set_resigned(False)
        return plan.as_dict()

    def _apply_static(self, old: Config, new: Config) -> None:
        """keepalived's static_ipaddress/_routes/_rules: what left the config goes, what came
        in is added (whatever the instances' states); unchanged ones are not touched."""
        rt = self.runtime
        old_routing, new_routing = static_routing(old), static_routing(new)
        old_addrs, new_addrs = static_addresses(old), static_addresses(new)
        rt.routing.remove([e for e in old_routing if e not in new_routing])
        rt.addresses.remove([a for a in old_addrs if a not in new_addrs])
        rt.addresses.add(new_addrs)
        rt.routing.add(new_routing)

    async def _stop_going(self, plan: VrrpPlan) -> None:
        """Stop changed and removed instances, and the trackers and sync groups not kept."""
        # a VIP an unchanged master carries stays: stopping another instance must not remove it
        kept_vips = {v.key for n in plan.unchanged for v in self.instances[n].vips
                     if self.instances[n].router is not None and self.instances[n].router.state is State.MASTER}
        stopping = []
        for name in plan.changed + plan.removed:
            inst = self.instances.pop(name, None)
            if inst is None:
                continue
            for unsubscribe in self._unsubscribe.pop(name, ()):
                unsubscribe()
            inst.vips = [v for v in inst.vips if v.key not in kept_vips]
            stopping.append(inst)
        for inst in stopping:
            inst.deleted = inst.name in plan.removed
            log.info("(%s) %s: stopping", inst.name, "removed" if inst.deleted else "changed")
        await asyncio.gather(*(inst.stop() for inst in stopping))  # the masters' handovers run at once
        # vrrp_scripts / track_files: keep equal ones (their state too), restart the rest
        for trackers, kept in ((self.scripts, plan.scripts_kept), (self.files, plan.files_kept),
                               (self.processes, plan.processes_kept)):
            for name in list(trackers):
                if name not in kept:
                    await trackers.pop(name).stop()
        for name in list(self.groups):
            if name not in plan.groups_kept:
                self.groups.pop(name).stopped()

    async def _open(self, names: list[str], strict: bool) -> list[Instance]:
        """Open (not start) the instances ``names`` of ``self.config`` and wire their tracking."""
        all_vips = {v.address.ip for i in self.config.vrrp_instances.values()
                    for v in i.virtual_ipaddress + i.virtual_ipaddress_excluded}
        opened = []
        for name in names:
            inst = Instance(self.config.vrrp_instances[name], self.config, self.runtime)
            if strict:
                self.instances[name] = inst
                await inst.open(all_vips)
            else:
                try:
                    await inst.open(all_vips)
                except OSError as err:
                    log.error("(%s) cannot start: %s", name, err)
                    await inst.stop()
                    continue
                self.instances[name] = inst
            self._wire(inst)
            opened.append(inst)
        return opened

    def _wire(self, inst: Instance) -> None:
        """Subscribe ``inst`` to its vrrp_scripts and interfaces (RFC-external, keepalived)."""
        spec = inst.spec
        # keepalived: a sync group member's own tracking weights are forced to 0 (FAULT), so
        # the members never disagree on who should be master; the group's tracking keeps its
        # weights (it moves every member alike: config/sync_tracking.py)
        # (unless the group says sync_group_tracking_weight)
        in_group = any(spec.name in g.group and not g.sync_group_tracking_weight
                       for g in self.config.vrrp_sync_groups.values())

        def synced(ref) -> bool:
            return in_group and ref.sync_group is None
        subs = self._unsubscribe.setdefault(inst.name, [])
        for ref in spec.track_file:
            tf = self.config.track_files[ref.name]
            ftracker = self.files.setdefault(ref.name, FileTracker(tf))
            weight = 0 if synced(ref) else file_weight(tf, ref.weight, ref.reverse)
            ftracked = FileTracked(f"file:{ref.name}", weight, value=ftracker.value)
            inst.add_tracked(ftracked)
            subs.append(ftracker.listen(lambda v, t=ftracked: inst.tracked_value(t, v)))
        for ref in spec.track_script:
            vs = self.config.vrrp_scripts[ref.name]
            tracker = self.scripts.setdefault(ref.name, ScriptTracker(vs))
            weight = 0 if synced(ref) else script_weight(vs, ref.weight, ref.reverse)
            tracked = Tracked(f"script:{ref.name}", weight, tracker.up)
            inst.add_tracked(tracked)
            subs.append(tracker.listen(lambda up, t=tracked: inst.tracked_changed(t, up)))
        for ref in spec.track_process:
            tp = self.config.track_processes[ref.name]
            if ref.name not in self.processes:  # a tracker counts at once: build it once
                self.processes[ref.name] = ProcessTracker(tp)
            ptracker = self.processes[ref.name]
            weight, invert = tracked_weight(tp, ref.weight, ref.reverse)
            ptracked = Tracked(f"process:{ref.name}", 0 if synced(ref) else weight, ptracker.up != invert)
            inst.add_tracked(ptracked)
            subs.append(ptracker.listen(lambda up, t=ptracked, i=invert: inst.tracked_changed(t, up != i)))
        for ref in spec.track_bfd:
            weight, invert = bfd_weight(self.config.bfd_instances[ref.name], ref.weight, ref.reverse)
            btracked = Tracked(f"bfd:{ref.name}", 0 if synced(ref) else weight, self.bfd.up(ref.name) != invert)
            inst.add_tracked(btracked)
            subs.append(self.bfd.listen(ref.name, lambda up, t=btracked, i=invert: inst.tracked_changed(t, up != i)))
        links = [(ref.name, 0 if synced(ref) else ref.weight or 0, ref.reverse) for ref in spec.track_interface]
        if not spec.dont_track_primary and spec.interface not in {name for name, _, _ in links}:
            links.append((spec.interface, 0, False))
        links += [(dev, 0, False) for dev in tracked_route_interfaces(spec) if dev not in {n for n, _, _ in links}]
        for name, weight, reverse in links:
            # a link already watched is reported on change only: start from what is known of it
            tracked = Tracked(f"interface:{name}", -weight if reverse else weight,
                              self.links.state.get(name, True))
            inst.add_tracked(tracked)
            subs.append(self.links.watch(name, lambda up, t=tracked: inst.tracked_changed(t, up)))

    def status_parts(self) -> list[str]:
        """``["VI_1 MASTER", ...]`` for the status line (core/dumps.py, every ping to the parent): the
        text is rebuilt only when an instance came, went or changed state (at 255 instances
        building it was 14 % of an idle master's CPU; comparing the states is a fraction of that)."""
        key = [tuple(self.instances), [i.router.state if i.router is not None else None
                                       for i in self.instances.values()]]
        if key != self._status[0]:
            self._status = (key, [f"{name} {state.value.upper()}" for name, state in zip(*key) if state is not None])
        return self._status[1]

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
        for tracker in (*self.scripts.values(), *self.files.values(), *self.processes.values()):
            await tracker.stop()
        await self.bfd.stop()
        await self.links.stop()
        self._apply_static(self.config, Config())
        self.runtime.routing.remove_all()
        self.runtime.routing.close()
        self.runtime.addresses.remove_all()
        self.runtime.addresses.close()
        self.vip_filter.clear()
        self.promote.sync(set())
        for group in self.groups.values():
            group.stopped()
        await self.runtime.notifier.wait_running()
        await self.runtime.mailer.close()
        await self.runtime.fifos.close()
        self.runtime.sockets.close()

    def status(self) -> dict[str, object]:
        return {
            "instances": [inst.status() for inst in self.instances.values() if inst.router is not None],
            "socket_drops": self.runtime.sockets.drops(),
            "scripts": {name: {"up": t.up} for name, t in self.scripts.items()},
            "track_files": {name: {"value": t.value} for name, t in self.files.items()},
            "track_processes": {name: {"up": t.up, "running": t.quorum.counted, "watch": t.view.mode}
                                for name, t in self.processes.items()},
            "bfd": self.bfd.status(),
            "sync_groups": [g.status() for g in self.groups.values()],
            "notify_fifos": self.runtime.fifos.status(),
            "smtp": self.runtime.mailer.status(),
        }
