"""VRRP state machine, sans-I/O (RFC 5798 6.4, RFC 3768 6.4, keepalived 2.2.7).

Usage, in the style of aioquic::

    router = VrrpRouter(RouterConfig(vrid=51, priority=100, address=...))
    router.start(now)
    ... router.receive(advert, src, now)      # a decoded Advertisement
    ... router.handle_timer(now)              # when now >= router.next_deadline()
    for action in router.actions(): ...       # SendAdvert, AddAddresses, ...

Time is a float parameter (seconds, any monotonic origin); nothing sleeps.

Where keepalived and the RFC differ, keepalived wins (we interoperate with
it on the wire) and the comment says so:

* a master hearing a lower-priority advert answers at once with its own
  advert and re-sends gratuitous ARP (keepalived; RFC 5798 says discard);
* preempt_delay: a backup that outranks the master keeps accepting the
  master's adverts for ``preempt_delay`` seconds after first hearing it,
  then ignores them, so it takes over a Master_Down_Interval later;
* FAULT: keepalived's extra state (interface down, failed tracker); a master
  entering it sends priority 0 first.

Ours, not keepalived's (``RouterConfig.graceful_handover``, on by default): a
master leaving on purpose (``shutdown``, ``resign``) *hands over*.  It sends
priority 0 (RFC 5798 6.4.3) but keeps its addresses until another router's
advert with priority > 0 shows that a new master serves them, at most one
Master_Down_Interval; then it lingers ``handover_linger`` (50 ms) for requests
already on their way to its MAC when the new master's GARP went out, and only
then RemoveAddresses and the state change.  While
handing over it stays MASTER (it still owns the addresses) but is silent:
no adverts, no GARPs, and no answer to the new master's advert (a master's
answer to a lower priority would make the backup step down again).  The
backup takes over Skew_Time after the priority-0 advert, so nobody is
without an answer in between.  A resigned router stays Backup (its
Master_Down_Timer leads nowhere) until ``unresign``.

Also ours (``RouterConfig.split_brain_garp``, on by default, off in strict mode):
a split brain (both routers Master while adverts were lost) heals with a
re-announcement of the addresses.  When it heals, whichever advert crosses
first decides: if the loser hears the winner first, it steps down and the
winner (Master all along) had no reason to send gratuitous ARP, so clients
kept the loser's MAC until their ARP entries expired.  So (1) a master that
hears a higher priority sends one advert at its own priority before it
yields (keepalived's ``higher_prio_send_advert``, here on by default), and
(2) a master that hears a lower priority, besides keepalived's answer, sends
a GARP/NA burst (``garp_master_repeat``) once that peer has yielded: when
1.5 of its advert intervals pass with no further lower-priority advert (a
master that had not yielded would have advertised again).  A lower-priority
advert heard after at least one interval as master counts as a split brain
(``Counters.split_brains``; the farewell of a master we just preempted comes
sooner and does not count).
"""
from __future__ import annotations

from .events import (
    Action,
    AddAddresses,
    Counters,
    GarpReason,
    RemoveAddresses,
    SendAdvert,
    SendGratuitousArp,
    State,
    StateChanged,
    TransitionReason,
)
from .packet import Advertisement, IPAddress
from .router_config import RouterConfig
from .timers import PRIORITY_OWNER, PRIORITY_STOP, master_down_interval, minimum_skew, skew_time
from .validate import check_advert


class VrrpRouter:
    """One VRRP instance's protocol state: no sockets, no clock, no netlink."""

    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self.counters = Counters()
        self.state = State.INITIALIZE
        self.priority = config.priority  # effective priority (tracking changes it)
        self.master_adver_interval = config.interval
        self.master_address: IPAddress | None = None
        self.master_priority: int | None = None
        self._faults: set[str] = set()  # "track" (own tracking), "sync" (its sync group)
        # sync groups (keepalived's wantstate MASTER): with ``sync_hold`` a Backup whose
        # Master_Down_Timer fires only sets ``wants_master``; the group decides (vrrp/sync.py)
        self.sync_hold = False
        self.wants_master = False
        self._queue: list[Action] = []
        self._takeover_reason = TransitionReason.MASTER_DOWN
        self._preempt_at: float | None = None  # keepalived's preempt_time
        self._down_at: float | None = None  # Master_Down_Timer (backup)
        self._advert_at: float | None = None  # Adver_Timer (master)
        self._garp_at: float | None = None  # garp_master_delay burst
        self._garp_lower_at: float | None = None  # garp_lower_prio_delay burst
        self._refresh_at: float | None = None  # garp_master_refresh
        self._reannounce_at: float | None = None  # split brain: GARP once the other master yielded
        self._master_since: float | None = None
        self._handover_at: float | None = None  # handing over: give up waiting for the new master then
        self._handover_to = State.INITIALIZE  # where the handover ends: Initialize (stop) or Backup (resign)
        self._new_master: tuple[Advertisement, IPAddress] | None = None  # its first advert, while we linger
        self.resigned = False  # "resign": stays Backup, never takes over, until unresign
        # global_defs vrrp_startup_delay: no Master_Down_Timer runs out before this (keepalived
        # counts a backup's timers from it, even an owner's); set before ``start``, None: none
        self.hold_until: float | None = None
        # the advert per priority sent (the config is frozen): a master builds it once, not every
        # interval, and the instance sees the same object (its encoded bytes are kept by identity)
        self._adverts: dict[int, Advertisement] = {}
        # the last advert accepted, with its source, destination and TTL: check_advert is pure over
        # a frozen config, and the transport hands over the same decoded objects while a master
        # repeats itself, so the same four (by identity) pass again without the checks
        self._accepted: tuple = (None, None, None, None)
        self._mdi: tuple = (None, None, 0.0)  # (priority, master_adver_interval, master_down_interval)

    # -- derived timers (RFC 5798 6.1) -------------------------------------
    @property
    def skew_time(self) -> float:
        return skew_time(self.config.version, self.priority, self.master_adver_interval)

    @property
    def master_down_interval(self) -> float:
        # a backup needs it per advert received; it changes only with the priority and the
        # master's interval (the config is frozen)
        cached = self._mdi
        if cached[0] == self.priority and cached[1] == self.master_adver_interval:
            return cached[2]
        value = master_down_interval(self.config.version, self.priority, self.master_adver_interval,
                                     self.config.down_timer_adverts)
        self._mdi = (self.priority, self.master_adver_interval, value)
        return value

    @property
    def advert_at(self) -> float | None:
        """When the next advert is due (a master), else None."""
        return self._advert_at

    @property
    def handing_over(self) -> bool:
        """Priority 0 sent, addresses kept until a new master speaks (or the deadline)."""
        return self._handover_at is not None

    # -- the aioquic-style surface -----------------------------------------
    @property
    def has_actions(self) -> bool:
        """Whether ``actions`` has something to return."""
        return bool(self._queue)

    def actions(self) -> list[Action]:
        """Return and clear the queued actions, oldest first."""
        out, self._queue = self._queue, []
        return out

    def next_deadline(self) -> float | None:
        """When ``handle_timer`` must next be called, or None."""
        down = None if self.resigned else self._down_at  # a resigned Backup never takes over
        # per advert received: a plain loop, not min() over a generator
        best = None
        for t in (down, self._advert_at, self._garp_at, self._garp_lower_at, self._refresh_at, self._handover_at,
                  self._reannounce_at):
            if t is not None and (best is None or t < best):
                best = t
        return best

    def start(self, now: float) -> None:
        """Leave Initialize (RFC 5798 6.4.1)."""
        if self.state is not State.INITIALIZE:
            raise RuntimeError(f"start() in state {self.state}")
        if self._faults:
            self._transition(State.FAULT, TransitionReason.FAULT)
        else:
            self._come_up(now, TransitionReason.STARTUP)

    def shutdown(self, now: float) -> None:
        """Shutdown event: a master sends priority 0 (RFC 5798 6.4.3), then Initialize.

        With ``graceful_handover`` a master hands over first (``handing_over``): Initialize
        comes when the new master speaks or Master_Down_Interval has passed."""
        if self.handing_over:
            self._handover_to = State.INITIALIZE  # a resign's handover now ends the router
            return
        if self.state is State.MASTER:
            if self.config.graceful_handover:
                self._hand_over(now, State.INITIALIZE)
                return
            self._leave_master()
        self._cancel_timers()
        if self.state is not State.INITIALIZE:
            self._transition(State.INITIALIZE, TransitionReason.SHUTDOWN)

    def resign(self, now: float) -> None:
        """Planned switchover: a master hands over (or leaves at once without graceful_handover);
        from now on this router stays Backup, whatever its priority, until ``unresign``."""
        if self.resigned:
            return
        self.resigned = True
        if self.state is State.MASTER and not self.handing_over:
            if self.config.graceful_handover:
                self._hand_over(now, State.BACKUP)
                return
            self._leave_master()
            self._cancel_timers()
            self._enter_backup(now, TransitionReason.RESIGN)

    def unresign(self, now: float) -> None:
        """Undo ``resign``: a Backup's Master_Down_Timer counts again, from now."""
        if not self.resigned:
            return
        self.resigned = False
        if self.state is State.BACKUP:
            self.wants_master = False
            self._down_at = now + self.master_down_interval

    def set_fault(self, fault: bool, now: float, source: str = "track") -> None:
        """Enter or leave FAULT (keepalived: interface down, tracked object failed).

        ``source`` names who reports it ("track", "sync"); FAULT lasts while any source says so.
        """
        before = bool(self._faults)
        if fault:
            self._faults.add(source)
        else:
            self._faults.discard(source)
        if bool(self._faults) == before:
            return
        if self._faults and self.state in (State.BACKUP, State.MASTER):
            if self.state is State.MASTER:
                self._leave_master(send_stop=not self.handing_over)  # a handover sent it already
            self._cancel_timers()
            self.wants_master = False
            self._transition(State.FAULT, TransitionReason.FAULT)
        elif not self._faults and self.state is State.FAULT:
            self._come_up(now, TransitionReason.FAULT_CLEARED)

    def fault_from(self, source: str) -> bool:
        """Whether ``source`` currently holds this router in FAULT."""
        return source in self._faults

    def force_master(self, now: float) -> None:
        """Sync group: every member may go master, so this waiting Backup does (keepalived vrrp_sync_master)."""
        if self.state is State.BACKUP:
            self._become_master(now, TransitionReason.SYNC_GROUP)

    def force_backup(self, now: float) -> None:
        """Sync group: another member left Master, so this one follows (keepalived vrrp_sync_backup).

        Priority 0 first (RFC 5798 6.4.3), so the peer's member takes over after Skew_Time.
        """
        if self.state is State.MASTER and not self.handing_over:  # a handover ends on its own
            self._leave_master()
            self._cancel_timers()
            self._enter_backup(now, TransitionReason.SYNC_GROUP)

    def set_effective_priority(self, priority: int, now: float) -> None:
        """Apply a tracking change; an owner's priority never moves (keepalived)."""
        if self.priority == PRIORITY_OWNER:
            return  # only a configured owner is at 255, and it never moves
        new = min(max(priority, 1), PRIORITY_OWNER - 1)
        if new == self.priority:
            return
        before = self.master_down_interval
        self.priority = new
        if self.state is State.BACKUP and self._down_at is not None:
            # keepalived shifts the running timer by the change in Master_Down_Interval
            self._down_at += self.master_down_interval - before

    def handle_timer(self, now: float) -> None:
        """Fire every timer due at ``now``."""
        if self._handover_at is not None and self._handover_at <= now:
            if self._new_master is None:
                self.counters.handovers_timed_out += 1  # nobody took over: remove the addresses anyway
            self._finish_handover(now)
            return
        if self._down_at is not None and self._down_at <= now and self.state is State.BACKUP \
                and not self.resigned:
            if self.sync_hold:
                self._down_at, self.wants_master = None, True  # the sync group decides
                return
            self._become_master(now, self._takeover_reason)
            return
        if self.state is not State.MASTER:
            return
        if self._advert_at is not None and self._advert_at <= now:
            self._send(self.priority)
            # from the deadline, not from ``now``: a timer run late (its slack, a busy loop) does
            # not stretch the interval; after a pause longer than one, from now (no burst)
            due = self._advert_at + self.config.interval
            self._advert_at = due if due > now else now + self.config.interval
        if self._garp_at is not None and self._garp_at <= now:
            self._garp(self.config.garp_master_repeat, GarpReason.MASTER_DELAY)
            self._garp_at = None
        if self._garp_lower_at is not None and self._garp_lower_at <= now:
            self._garp(self.config.lower_prio_repeat, GarpReason.LOWER_PRIORITY_DELAY)
            self._garp_lower_at = None
        if self._refresh_at is not None and self._refresh_at <= now:
            self._garp(self.config.garp_master_refresh_repeat, GarpReason.REFRESH)
            self._refresh_at = now + self.config.garp_master_refresh
        if self._reannounce_at is not None and self._reannounce_at <= now:
            self._garp(self.config.garp_master_repeat, GarpReason.SPLIT_BRAIN_HEALED)
            self._reannounce_at = None

    def receive(self, advert: Advertisement, src: IPAddress, now: float, dst: IPAddress | None = None,
                ttl: int | None = None) -> None:
        """Process a decoded advert from ``src`` to ``dst`` that arrived with ``ttl`` (RFC 5798
        6.4.2 / 6.4.3)."""
        if self.state not in (State.BACKUP, State.MASTER):
            return  # keepalived ignores adverts in FAULT and before start
        last = self._accepted
        if not (advert is last[0] and src is last[1] and dst is last[2] and ttl == last[3]):
            reason = check_advert(self.config, advert, src, dst, ttl)
            if reason is not None:
                self.counters.drop(reason)
                return
            self._accepted = (advert, src, dst, ttl)
        self.counters.adverts_received += 1
        if advert.priority == PRIORITY_STOP:
            self.counters.priority_zero_received += 1
        if self.state is State.BACKUP:
            self._backup_receive(advert, src, now)
        else:
            self._master_receive(advert, src, now)

    # -- receive paths ------------------------------------------------------
    def _backup_receive(self, advert: Advertisement, src: IPAddress, now: float) -> None:
        cfg = self.config
        if advert.priority == PRIORITY_STOP:
            # the master resigned: take over after Skew_Time only (RFC 5798 6.4.2)
            self._down_at = self._held(now) + self.skew_time
            self._takeover_reason = TransitionReason.PRIORITY_ZERO
            return
        delaying = cfg.preempt_delay > 0 and (self._preempt_at is None or self._preempt_at > now)
        if not cfg.preempt or advert.priority >= self.priority or delaying:
            if cfg.version == 3:
                self.master_adver_interval = advert.interval_seconds  # RFC 5798 6.4.2
            self._down_at = self._held(now) + self.master_down_interval
            self._takeover_reason = TransitionReason.MASTER_DOWN
            self.wants_master = False  # a master we accept is alive
            self.master_address, self.master_priority = src, advert.priority
            if cfg.preempt_delay > 0:
                if advert.priority >= self.priority:
                    self._preempt_at = None
                elif self._preempt_at is None:
                    self._preempt_at = now + cfg.preempt_delay
            return
        # we outrank this master: discard, so Master_Down_Timer runs out (RFC 5798 6.4.2)
        self._takeover_reason = TransitionReason.PREEMPT
        self.master_address, self.master_priority = src, advert.priority

    def _master_receive(self, advert: Advertisement, src: IPAddress, now: float) -> None:
        cfg = self.config
        if self.handing_over:
            # silent: whoever advertises with priority > 0 is the new master (the backup after its
            # Skew_Time, or a master that outranks us); it serves the addresses from now on
            if advert.priority != PRIORITY_STOP and self._new_master is None:
                self.counters.handovers_answered += 1
                self._new_master = (advert, src)
                self._handover_at = now + self.config.handover_linger
                if self.config.handover_linger <= 0:
                    self._finish_handover(now)
            return
        if advert.priority == PRIORITY_STOP:
            # RFC 5798 6.4.3: answer at once so the backups do not take over
            self._send(self.priority)
            self._advert_at = now + cfg.interval
            return
        if advert.priority == self.priority == PRIORITY_OWNER:
            # two address owners: keepalived calls it a config error and yields (254)
            self.priority = PRIORITY_OWNER - 1
        if (advert.priority, int(src)) > (self.priority, int(cfg.address)):
            # higher priority, or equal priority and higher address: step down; with our own
            # priority first, so that a winner that was master all along re-announces (split brain)
            if cfg.higher_prio_send_advert or cfg.split_brain_garp:
                self._send(self.priority)
            if cfg.version == 3:
                self.master_adver_interval = advert.interval_seconds
            self.master_address, self.master_priority = src, advert.priority
            self._leave_master(send_stop=False)
            self._cancel_timers()
            self._enter_backup(now, TransitionReason.HIGHER_PRIORITY)
            return
        # lower priority: keepalived answers with an advert and gratuitous ARPs
        self.counters.lower_priority_received += 1
        if not cfg.lower_prio_no_advert:
            self._send(self.priority)
        if cfg.lower_prio_repeat > 0:
            self._garp(cfg.lower_prio_repeat, GarpReason.LOWER_PRIORITY)
            if cfg.lower_prio_delay > 0:
                self._garp_lower_at = now + cfg.lower_prio_delay
        if cfg.split_brain_garp:
            # another master on the link: announce again once it has yielded (module docstring)
            if self._reannounce_at is None and self._master_since is not None \
                    and now - self._master_since >= cfg.interval:
                self.counters.split_brains += 1
            self._reannounce_at = now + 1.5 * advert.interval_seconds

    # -- transitions --------------------------------------------------------
    def _come_up(self, now: float, reason: TransitionReason) -> None:
        """Initialize/Fault -> Backup, or -> Master for the address owner (RFC 5798 6.4.1)."""
        if self.priority == PRIORITY_OWNER and not self.resigned:
            if self._held(now) == now:
                self._become_master(now, TransitionReason.ADDRESS_OWNER)
                return
            self._enter_backup(now, reason)  # keepalived: the owner too waits out the startup delay
            self._down_at, self._takeover_reason = self._held(now), TransitionReason.ADDRESS_OWNER
            return
        self._enter_backup(now, reason)
        if self.config.initial_state is State.MASTER and reason is TransitionReason.STARTUP:
            # keepalived "state MASTER": first timeout is one interval plus the minimum skew
            self._down_at = self._held(now) + self.master_adver_interval + minimum_skew(
                self.config.version, self.master_adver_interval)

    def _enter_backup(self, now: float, reason: TransitionReason) -> None:
        if reason is not TransitionReason.HIGHER_PRIORITY:
            self.master_adver_interval = self.config.interval
        self._preempt_at = None
        self.wants_master = False
        self._takeover_reason = TransitionReason.MASTER_DOWN
        self._down_at = self._held(now) + self.master_down_interval
        self._transition(State.BACKUP, reason)

    def _held(self, now: float) -> float:
        """Where a backup's timers count from: now, or the end of the startup delay."""
        return now if self.hold_until is None or now >= self.hold_until else self.hold_until

    def _become_master(self, now: float, reason: TransitionReason) -> None:
        """RFC 5798 6.4.1/6.4.2: advertise, announce the addresses, start Adver_Timer."""
        cfg = self.config
        self._cancel_timers()
        self.wants_master = False
        self.counters.became_master += 1
        self.master_adver_interval = cfg.interval  # a master uses its own interval
        self.master_address, self.master_priority = cfg.address, self.priority
        self._queue.append(AddAddresses(cfg.virtual_addresses))
        self._send(self.priority)
        self._garp(cfg.garp_master_repeat, GarpReason.BECAME_MASTER)
        self._transition(State.MASTER, reason)
        self._advert_at = now + cfg.interval
        self._master_since = now
        if cfg.garp_master_delay > 0:
            self._garp_at = now + cfg.garp_master_delay
        if cfg.garp_master_refresh > 0:
            self._refresh_at = now + cfg.garp_master_refresh

    def _hand_over(self, now: float, to: State) -> None:
        """Priority 0 out, then silence with the addresses kept (see the module docstring)."""
        self._send(PRIORITY_STOP)
        self._cancel_timers()
        self.counters.handovers += 1
        self._handover_at = now + self.master_down_interval
        self._handover_to = to

    def _finish_handover(self, now: float) -> None:
        """The new master spoke (and we lingered) or the deadline passed: let go."""
        new_master, self._new_master = self._new_master, None
        self._leave_master(send_stop=False)
        self._cancel_timers()
        if self._handover_to is State.INITIALIZE:
            self._transition(State.INITIALIZE, TransitionReason.SHUTDOWN)
            return
        self._enter_backup(now, TransitionReason.RESIGN)
        if new_master is not None:
            self._backup_receive(*new_master, now)  # the new master: its address, its interval

    def _leave_master(self, send_stop: bool = True) -> None:
        self._master_since = None
        if send_stop:
            self._send(PRIORITY_STOP)
        self._queue.append(RemoveAddresses(self.config.virtual_addresses))
        self.counters.released_master += 1

    def _transition(self, new: State, reason: TransitionReason) -> None:
        old, self.state = self.state, new
        self.counters.transitions += 1
        self._queue.append(StateChanged(old, new, reason))

    # -- helpers ------------------------------------------------------------
    def _send(self, priority: int) -> None:
        self.counters.adverts_sent += 1
        if priority == PRIORITY_STOP:
            self.counters.priority_zero_sent += 1
        advert = self._adverts.get(priority)
        if advert is None:
            advert = self._adverts[priority] = self.config.advertisement(priority)
        self._queue.append(SendAdvert(priority, advert))

    def _garp(self, repeat: int, reason: GarpReason) -> None:
        if repeat > 0 and self.config.virtual_addresses:
            self.counters.garp_bursts += 1
            self._queue.append(SendGratuitousArp(self.config.virtual_addresses, repeat, reason))

    def _cancel_timers(self) -> None:
        self._down_at = self._advert_at = self._garp_at = None
        self._garp_lower_at = self._refresh_at = self._handover_at = self._reannounce_at = None
        self._new_master = None  # a lingering handover ends with its deadline
