"""One running vrrp_instance: state machine + socket + VIPs + GARP/NA + notify + tracking.

The ``VrrpRouter`` decides; this class carries its actions out, in the
order queued (RFC 5798 6.4: addresses, advert, announcements, then the
notify scripts, as keepalived).  Every action is synchronous and runs at
once, in the callback that produced it: the VIP exists before the loop
does anything else (an rtnetlink request is handled inside ``send()``,
net/rtnl.py; scripts and mail are spawned, not awaited).  The timer is one
``DeadlineTimer`` (on the loop's shared timerfd: ``loop.call_at`` runs up to
~2 ms late, and a backup's takeover is a deadline) on
``router.next_deadline()``, re-armed after every event.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from ipaddress import IPv6Address
from pathlib import Path

from ..compat.aio import TIMEOUT_ERRORS, Event
from ..config.model import Config
from ..config.model_vrrp import GlobalDefs, Notify, VirtualIp, VrrpInstance
from ..net.addresses import AddressManager, VipSpec, interface_info
from ..net.arp import FrameSender, announcement
from ..net.ipvs_syncd import sync_daemon_control
from ..net.routes import RoutingManager
from ..net.vmac import VmacManager
from ..services.deadline import DeadlineTimer
from ..services.fifo import NotifyFifos, fifo_line
from ..services.notify import Notifier
from ..services.smtp import Mailer
from .events import Action, AddAddresses, RemoveAddresses, SendAdvert, SendGratuitousArp, State, StateChanged
from .from_config import router_config
from .fsm import VrrpRouter
from .ippacket import ReceivedAdvert
from .packet import Advertisement, DropReason, IPAddress
from .routing import sends_from_base, vip_interface, virtual_routing, vmac_spec
from .timers import ADVERT_SLACK, PRIORITY_STOP
from .track import FileTracked, Tracked, effective
from .transport import Outgoing, SocketPool, VrrpSocket

VIPS_NAME = "vips.json"  # RUNTIME_DIR/vips.json: the addresses we added (net/addresses.py)
ROUTES_NAME = "routes.json"  # RUNTIME_DIR/routes.json: the routes and rules we added (net/routes.py)
VMACS_NAME = "vmacs.json"  # RUNTIME_DIR/vmacs.json: the VMAC links we created (net/vmac.py)


def vip_spec(vip: VirtualIp, default_dev: str) -> VipSpec:
    return VipSpec(vip.address, vip.dev or default_dev, vip.scope, vip.label, vip.brd)


def vip_specs(inst: VrrpInstance, vmac: str | None = None) -> list[VipSpec]:
    """virtual_ipaddress then virtual_ipaddress_excluded, each on its dev (default: the interface,
    or the VMAC ``vmac``: vrrp/routing.py vip_interface)."""
    return [vip_spec(v, vip_interface(v, inst, vmac)) for v in inst.virtual_ipaddress + inst.virtual_ipaddress_excluded]


class _Named(logging.LoggerAdapter):
    """Prefixes every message with the instance name (keepalived's log style)."""

    def process(self, msg, kwargs):
        return f"({self.extra['instance']}) {msg}", kwargs


class Runtime:
    """What all instances share: netlink address book, sockets, notify scripts, fifos, mail."""

    def __init__(self, config: Config | None = None, state_dir: str | Path | None = None) -> None:
        g = config.global_defs if config is not None else GlobalDefs()
        self.addresses = AddressManager(Path(state_dir) / VIPS_NAME if state_dir is not None else None)
        # static_/virtual_ routes and rules (what we added only)
        self.routing = RoutingManager(Path(state_dir) / ROUTES_NAME if state_dir is not None else None)
        self.sockets = SocketPool()
        self.vmacs = VmacManager(Path(state_dir) / VMACS_NAME if state_dir is not None else None)  # use_vmac
        self.notifier = Notifier(g.script_user)
        self.fifos = NotifyFifos(g)
        self.mailer = Mailer(g)
        self.syncd = sync_daemon_control(config)  # lvs_sync_daemon (read at start, as the fifos)

    def state_changed(self, kind: str, name: str, notify: Notify, state: str, priority: int,
                      smtp_alert: bool | None) -> None:
        """One transition out to the world: scripts, fifo line, alert mail (keepalived's order)."""
        if not (kind == "GROUP" and state == "STOP"):  # STOP applies to instances only
            self.notifier.state_changed(notify, kind, name, state, priority)
        self.fifos.write(fifo_line(kind, name, state, priority))
        if self.syncd is not None and kind == "INSTANCE":
            self.syncd.follow(name, state)
        if state != "STOP" and self.mailer.enabled(smtp_alert, state):
            self.mailer.alert(kind, name, state)


class Instance:
    def __init__(self, spec: VrrpInstance, config: Config, runtime: Runtime) -> None:
        self.spec, self.config, self.rt = spec, config, runtime
        self.name = spec.name
        self.log = _Named(logging.getLogger("pykeepalived.vrrp"), {"instance": spec.name})
        self.vmac = vmac_spec(spec, config)  # use_vmac: VIPs, adverts and GARPs on this macvlan
        self.vips = vip_specs(spec, self.vmac.name if self.vmac else None)
        self._link = spec.interface  # where the adverts go: the interface, or the VMAC
        self._holds_vmac = False  # the VMAC is up for this instance (stop deletes it)
        self.routing = virtual_routing(spec)  # virtual_routes then virtual_rules, with the VIPs
        self.tracked: list[Tracked] = []
        self.router: VrrpRouter | None = None
        self.sock: VrrpSocket | None = None
        self.frames: FrameSender | None = None
        self.link_local: IPv6Address | None = None
        self.mac = b"\0" * 6
        self._loop = asyncio.get_running_loop()
        self._timer = DeadlineTimer(self._loop)
        self._deadline: float | None = None  # what the timer is armed for
        # the transport's clock is time.monotonic(): it compares our deadlines only when the loop's is too
        self._clock_monotonic = self._timer.precise
        self.group = None  # its GroupRunner, when a vrrp_sync_group member
        self.deleted = False  # a reload removed it: notify_deleted says DELETED instead of STOP
        self._peers: list[IPAddress] = []  # where adverts go: the unicast peers or the group
        self._farewell: list[Outgoing] = []  # the priority-0 advert, encoded once (resign)
        self._sent: tuple[Advertisement | None, list[Outgoing]] = (None, [])  # the last advert, encoded per peer
        self._adopted_pending = False  # adopted VIPs kept while "state MASTER" decides
        # while a graceful handover is under way (vrrp/fsm.py), what ``handed_over`` waits for;
        # made then, not per instance (an Event and its deque: 0.75 kB, 190 kB at 255 instances)
        self._handover: Event | None = None
        self._timeouts = 0  # handovers_timed_out when last looked at (for the log line)
        self._spaced: asyncio.TimerHandle | None = None  # the rest of a GARP/NA burst (vrrp_garp_interval)
        g = config.global_defs
        self._announce_interval = g.vrrp_gna_interval if spec.family == 6 else g.vrrp_garp_interval
        self._notify_priority = g.vrrp_notify_priority_changes if spec.notify_priority_changes is None \
            else spec.notify_priority_changes

    # -- setup --------------------------------------------------------------
    async def open(self, all_vips: set[IPAddress]) -> None:
        """Find our primary address, open the socket and the frame sender."""
        spec = self.spec
        ifindex, self.mac, addrs = interface_info(spec.interface)
        family = spec.family
        self.link_local = next((a.ip for a in addrs if a.version == 6 and a.ip.is_link_local), None)
        address = spec.unicast_src_ip or spec.mcast_src_ip or self._primary(addrs, family, all_vips)
        self.router = VrrpRouter(router_config(spec, self.config, address))
        ifindex = self._open_vmac(ifindex)
        self.sock = self.rt.sockets.get(self._link, ifindex, family)
        self._peers = list(self.router.config.destinations)
        if not spec.unicast_peer:
            self.sock.join(self.router.config.group)
        farewell = self.router.config.advertisement(PRIORITY_STOP)  # fixed for this instance's life
        ttl = spec.unicast_ttl if spec.unicast_peer else None  # keepalived's unicast_ttl
        self._farewell = [self.sock.prepare(farewell, address, dst, ttl) for dst in self._peers]
        self._sent = (None, [])
        self.sock.subscribe(spec.virtual_router_id, self)
        self.frames = FrameSender(self.vmac.name if self.vmac else spec.interface)
        self.rt.addresses.prepare(self.vips)
        self.log.info("on %s, VRID %d, v%d, address %s, priority %d", spec.interface, spec.virtual_router_id,
                      self.router.config.version, address, spec.priority)

    def _open_vmac(self, ifindex: int) -> int:
        """use_vmac: create (or adopt) the VMAC; GARPs carry its MAC, adverts leave from it
        unless vmac_xmit_base.  The ifindex adverts leave from."""
        if self.vmac is None:
            return ifindex
        base = sends_from_base(self.spec, self.config)
        if self.spec.family == 6 and not base:  # the adverts' source must exist on the VMAC
            self.vmac = replace(self.vmac, link_local=str(self.link_local))
        vmac_index = self.rt.vmacs.ensure(self.vmac)
        self._holds_vmac = True
        self.mac = self.vmac.mac
        if base:
            return ifindex
        self._link = self.vmac.name
        return vmac_index

    def _primary(self, addrs: list, family: int, all_vips: set[IPAddress]) -> IPAddress:
        """IPv4: the first address that is not a VIP; IPv6: the link-local (RFC 5798 5.1.2.1)."""
        if family == 6:
            if self.link_local is None:
                raise OSError(f"{self.spec.interface} has no IPv6 link-local address")
            return self.link_local
        for a in addrs:
            if a.version == 4 and a.ip not in all_vips:
                return a.ip
        raise OSError(f"{self.spec.interface} has no IPv4 address")

    # -- events in ------------------------------------------------------------
    def start(self, hold_until: float | None = None) -> None:
        """``hold_until``: the end of global_defs vrrp_startup_delay (the daemon's start only)."""
        self._recompute(pump=False)
        now = self._loop.time()
        self.router.hold_until = hold_until
        if self.spec.unicast_fault_no_peer and not self.spec.unicast_peer:  # keepalived: not multicast
            self.log.warning("unicast_fault_no_peer and no unicast_peer: FAULT")
            self.router.set_fault(True, now, "config")
        self.router.start(now)
        if self.router.state is not State.MASTER and any(self.rt.addresses.owns(v) for v in self.vips):
            # VIPs a crashed daemon left (adopted at start): a backup must not carry them. "state
            # MASTER" starts as backup for one interval and then takes over unless a master
            # speaks: keep them until that is decided, so a restarted child does not flap them.
            if self.router.state is State.BACKUP and self.router.config.initial_state is State.MASTER:
                self._adopted_pending = True
            else:
                self._drop_adopted()
        if self.router.state is not State.MASTER and not self._adopted_pending:
            self.rt.routing.remove(self.routing)  # adopted virtual routes (a crash left them): not a backup's
        self._pump()

    def _drop_adopted(self) -> None:
        self.log.info("not master: removing the adopted VIPs")
        self._adopted_pending = False
        self._perform_all([RemoveAddresses(())])

    def _settle_adopted(self) -> None:
        """Decide about kept adopted VIPs: ours once master; dropped if another master is accepted."""
        r = self.router
        if r.state is State.MASTER:
            self._adopted_pending = False
            return
        other_master = r.master_address not in (None, r.config.address) and \
            (r.master_priority >= r.priority or not r.config.preempt)
        if r.state is not State.BACKUP or other_master:
            self._drop_adopted()

    def on_advert(self, got: ReceivedAdvert, received: float | None = None) -> None:
        now = self._loop.time()  # the kernel's receive time when the transport has it (never later than now)
        r = self.router
        lower = r.counters.lower_priority_received
        r.receive(got.advert, got.src, now if received is None or received > now else received, got.dst, got.ttl)
        if r.counters.lower_priority_received != lower:
            self._master_rx_lower_pri()
        if r.has_actions or self._adopted_pending or self.group is not None:
            self._pump()
        else:  # the common case, once per advert received: nothing to do but move the timer
            self._rearm()

    def _master_rx_lower_pri(self) -> None:
        """keepalived's event for a master that hears a lower priority: notify_master_rx_lower_pri
        (no arguments) and the fifo line ``INSTANCE "NAME" MASTER_RX_LOWER_PRI PRIO``."""
        sc = self.spec.notify_master_rx_lower_pri
        if sc is not None:
            self.rt.notifier.spawn(sc.argv, sc)
        self.rt.fifos.write(fifo_line("INSTANCE", self.name, "MASTER_RX_LOWER_PRI", self.router.priority))

    def on_drop(self, reason: DropReason) -> None:
        self.router.counters.drop(reason)

    def add_tracked(self, tracked: Tracked) -> None:
        self.tracked.append(tracked)

    def tracked_changed(self, tracked: Tracked, up: bool) -> None:
        tracked.up = up
        self._recompute()

    def tracked_value(self, tracked: FileTracked, value: int) -> None:
        tracked.value = value
        self._recompute()

    def _recompute(self, pump: bool = True) -> None:
        prio, fault = effective(self.spec.priority, self.tracked)
        now = self._loop.time()
        if self._notify_priority and prio != self.router.priority and self.router.state is not State.INITIALIZE:
            # keepalived's notify_priority_changes: a fifo line only (no script), in the current state
            kind = "MASTER_PRIORITY" if self.router.state is State.MASTER else "BACKUP_PRIORITY"
            self.rt.fifos.write(fifo_line("INSTANCE", self.name, kind, prio))
        self.router.set_effective_priority(prio, now)
        self.router.set_fault(fault, now)
        if pump:
            self._pump()

    def _on_timer(self) -> None:
        # A timer that fires on a late wake-up (this loop paused on a busy machine) may find
        # adverts the kernel received before the deadline still queued: read them first, each
        # at its kernel receive time, so a master that spoke in time does not lose to the
        # Master_Down timer (seen: a backup of 50 instances at 0.1 s taking over under load).
        if self.sock is not None:
            self.sock.drain(self._deadline if self._clock_monotonic else None)
        self.router.handle_timer(self._loop.time())
        self._pump()

    def now(self) -> float:
        return self._loop.time()

    def _pump(self) -> None:
        """After an event: the sync group (if any) reconciles its members, then they act."""
        if self._adopted_pending:
            self._settle_adopted()
        if self.group is not None:
            self.group.reconcile()
        else:
            self.act()

    def act(self) -> None:
        """Carry out the router's actions and re-arm the timer."""
        self._perform_all(self.router.actions())
        self._rearm()

    def _rearm(self) -> None:
        r = self.router
        deadline = self._deadline = r.next_deadline()
        handing_over = r.handing_over
        if deadline is None:
            self._timer.cancel()
        elif deadline == r.advert_at and not handing_over:
            self._timer.arm(deadline, self._on_timer, r.config.interval * ADVERT_SLACK)
        else:
            self._timer.arm(deadline, self._on_timer)
        if handing_over:
            if self._handover is None:
                self._handover = Event()
        elif self._handover is not None:
            c = r.counters
            self.log.info("handover done: %s", "the new master spoke" if c.handovers_timed_out == self._timeouts
                          else "no new master within Master_Down_Interval, VIPs removed anyway")
            self._handover.set()
            self._handover = None
        self._timeouts = r.counters.handovers_timed_out

    # -- actions out ------------------------------------------------------------
    def _perform_all(self, actions: list[Action]) -> None:
        for action in actions:
            try:
                self._perform(action)
            except Exception:  # one failed action must not stop the instance
                self.log.exception("action %s failed", type(action).__name__)

    def _perform(self, action: Action) -> None:
        if isinstance(action, SendAdvert):
            self._send(action)
        elif isinstance(action, AddAddresses):
            self.rt.addresses.add(self.vips)
            self.rt.routing.add(self.routing)  # after the VIPs: a route may use one as its source
        elif isinstance(action, RemoveAddresses):
            self._cancel_spaced()  # no more announcements of addresses we are giving up
            self.rt.routing.remove(self.routing)
            self.rt.addresses.remove(self.vips)
        elif isinstance(action, SendGratuitousArp):
            self._announce(action)
        elif isinstance(action, StateChanged):
            self._state_changed(action)

    def _send(self, action: SendAdvert) -> None:
        advert, prepared = self._sent
        # a master sends the same advert (the router's object) until its priority or VIPs change
        if action.advert is not advert and action.advert != advert:
            src = self.router.config.address
            # unicast: one packet per peer, each with its own checksum
            ttl = self.spec.unicast_ttl if self.spec.unicast_peer else None
            prepared = [self.sock.prepare(action.advert, src, dst, ttl) for dst in self._peers]
            self._sent = (action.advert, prepared)
        for out in prepared:
            self.sock.send_prepared(out)

    def _announce(self, action: SendGratuitousArp) -> None:
        """``repeat`` rounds over the addresses (keepalived's order); with vrrp_garp_interval
        (vrrp_gna_interval for IPv6) that far apart, else back to back."""
        frames = [f for f in (announcement(self.mac, a, self.link_local) for a in action.addresses) if f]
        burst = frames * action.repeat
        self._cancel_spaced()  # a new burst replaces what is left of the last one
        if self._announce_interval <= 0:
            for frame in burst:
                self.frames.send(frame)
        elif burst:
            self._send_spaced(burst, 0)

    def _send_spaced(self, burst: list[bytes], i: int) -> None:
        self._spaced = None
        self.frames.send(burst[i])
        if i + 1 < len(burst):
            self._spaced = self._loop.call_later(self._announce_interval, self._send_spaced, burst, i + 1)

    def _cancel_spaced(self) -> None:
        if self._spaced is not None:
            self._spaced.cancel()
            self._spaced = None

    def _state_changed(self, change: StateChanged) -> None:
        state = "STOP" if change.new is State.INITIALIZE else change.new.value.upper()
        if state == "STOP" and self.deleted and self.spec.notify_deleted:
            state = "DELETED"
        self.log.info("%s -> %s (%s)", change.old.value.upper(), state, change.reason.value)
        self.rt.state_changed("INSTANCE", self.name, self.spec.notify, state, self.router.priority,
                              self.spec.smtp_alert)

    def set_routing(self, entries: list) -> None:
        """A reload changed only the virtual routes/rules: what left goes; what came is added
        if the instance carries its VIPs (MASTER), else waits for AddAddresses."""
        old, self.routing = self.routing, entries
        self.rt.routing.remove([e for e in old if e not in entries])
        r = self.router
        if r is not None and r.state is State.MASTER and not r.handing_over:
            self.rt.routing.add(entries)
        self.log.info("virtual routes/rules reloaded")

    # -- stop, resign and status ------------------------------------------------------
    def shutdown(self) -> None:
        """Shutdown event: a master sends priority 0 (RFC 5798 6.4.3) and, with the graceful
        handover, keeps its VIPs until the new master speaks (``stop`` waits for that); without
        it, removes them now.  Synchronous and idempotent: the daemon calls it from its SIGTERM
        handler.

        A master's priority-0 advert leaves first, encoded at ``open``: the backup's
        Skew_Time runs from it, so the timer, the state machine and the encoder wait."""
        r = self.router
        leaving = r is not None and r.state is State.MASTER and not r.handing_over
        if leaving:
            for out in self._farewell:
                self.sock.send_prepared(out)
        if r is not None and r.state is not State.INITIALIZE:
            self._timer.cancel()
            r.shutdown(self._loop.time())
            actions = r.actions()
            if leaving:  # that advert is on the wire already (the router counted it)
                actions = [a for a in actions if not (isinstance(a, SendAdvert) and a.priority == PRIORITY_STOP)]
            self._perform_all(actions)
            self._rearm()  # a handover's deadline

    def set_resigned(self, resigned: bool) -> bool:
        """``resign``: a master hands over and the instance stays BACKUP until ``unresign``.
        Returns whether anything changed."""
        r = self.router
        if r is None or r.resigned == resigned or r.state is State.INITIALIZE:
            return False
        if resigned:
            self.log.info("resign: %s", "handing over to the backup" if r.state is State.MASTER
                          else "staying BACKUP")
            r.resign(self._loop.time())
        else:
            self.log.info("unresign: may become MASTER again")
            r.unresign(self._loop.time())
        self._pump()
        return True

    async def handed_over(self) -> None:
        """Until no handover is under way (the state machine bounds it by Master_Down_Interval)."""
        if self.router is not None and self.router.handing_over:
            bound = self.router.master_down_interval + 1.0  # the timer fires first; this guards a lost one
            if self._handover is None:
                self._handover = Event()
            try:
                await asyncio.wait_for(self._handover.wait(), bound)
            except TIMEOUT_ERRORS:
                self.log.error("handover did not end within %.1f s: stopping anyway", bound)

    async def stop(self) -> None:
        self.shutdown()
        await self.handed_over()
        r = self.router
        if r is not None and r.state is not State.INITIALIZE:  # e.g. a FAULT during the handover
            self._timer.cancel()
            r.shutdown(self._loop.time())
            self._perform_all(r.actions())
        self._timer.close()
        self._cancel_spaced()
        if self.sock is not None:
            self.sock.unsubscribe(self.spec.virtual_router_id)
            self.rt.sockets.release(self._link, self.spec.family)
        if self.frames is not None:
            self.frames.close()
        if self._holds_vmac:  # after the VIPs on it are gone
            self.rt.vmacs.remove(self.vmac.name)

    def status(self) -> dict[str, object]:
        r = self.router
        return {
            "name": self.name, "interface": self.spec.interface, "vmac": self.vmac.name if self.vmac else None,
            "vrid": self.spec.virtual_router_id,
            "version": r.config.version, "state": r.state.value.upper(), "priority": self.spec.priority,
            "effective_priority": r.priority, "address": str(r.config.address),
            "master_address": None if r.master_address is None else str(r.master_address),
            "master_priority": r.master_priority, "advert_interval": r.config.interval,
            "virtual_ipaddress": [str(v.address) for v in self.vips],
            "tracked": [{"name": t.name, "weight": t.weight, "up": t.up} for t in self.tracked],
            "counters": r.counters.as_dict(), "resigned": r.resigned, "handing_over": r.handing_over,
        }
