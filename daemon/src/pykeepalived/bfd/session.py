"""One BFD session, RFC 5880 asynchronous mode, sans-I/O: time is a parameter.

``receive(packet, now)`` runs the session part of 6.8.6 and the state machine of
6.2; ``handle_timer(now)`` sends on schedule and runs detection; packets to send
queue in ``outbox`` and state changes in ``changes`` for the adapter to drain.

Timers (6.8.2, 6.8.3): while not Up we send at ``idle_tx`` (at least 1 s, the
RFC's slow rate); on Up we switch to ``min_tx`` with a Poll Sequence, the
peer's Final ending it.  The transmit interval is max(our desired tx, their
required rx), less 0-25 % jitter (10-25 % when our multiplier is 1, 6.8.7).
Detection time is their multiplier x max(our required rx, their desired tx).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .packet import ControlPacket, Diag, State

US = 1_000_000


@dataclass(frozen=True)
class SessionConfig:
    """The local side: intervals in microseconds (keepalived's min_rx/min_tx/idle_tx)."""

    min_rx: int = 10_000
    min_tx: int = 10_000
    idle_tx: int = 1_000_000
    multiplier: int = 5
    passive: bool = False


@dataclass(frozen=True)
class Change:
    old: State
    new: State
    diag: Diag
    at: float


class Session:
    def __init__(self, cfg: SessionConfig, my_discr: int, now: float, rng: random.Random | None = None) -> None:
        if my_discr == 0:
            raise ValueError("a local discriminator is never 0 (RFC 5880 6.8.1)")
        self.cfg, self.my_discr = cfg, my_discr
        self.rng = rng or random.Random()
        self.state = State.DOWN
        self.diag = Diag.NONE
        self.remote_discr = 0
        self.remote_state = State.DOWN
        self.remote_min_rx = 1  # 6.8.1: initialised to 1 us
        self.remote_desired_tx = 0
        self.remote_mult = 0
        self.desired_tx = max(cfg.idle_tx, US)  # slow until Up (6.8.3); what we advertise
        # what we use: a slower tx or a faster rx asked while Up waits for the Final (6.8.3)
        self.active_tx, self.active_min_rx = self.desired_tx, cfg.min_rx
        self.polling = False
        self.outbox: list[ControlPacket] = []
        self.changes: list[Change] = []
        self.next_tx = now if not cfg.passive else float("inf")
        self.detect_at = float("inf")
        self.last_rx: float | None = None

    # -- derived values ------------------------------------------------------
    def tx_interval(self) -> float:
        return max(self.active_tx, self.remote_min_rx) / US

    def detection_time(self) -> float:
        """Seconds without a packet before the session goes Down (6.8.4)."""
        return self.remote_mult * max(self.active_min_rx, self.remote_desired_tx) / US

    def next_deadline(self) -> float:
        return min(self.next_tx, self.detect_at)

    # -- input ---------------------------------------------------------------
    def receive(self, pkt: ControlPacket, now: float) -> str | None:
        """Apply a decoded packet; the drop reason when 6.8.6 discards it."""
        if pkt.your_discr == 0 and pkt.state not in (State.DOWN, State.ADMIN_DOWN):
            return "your_discr_zero"
        if pkt.your_discr not in (0, self.my_discr):
            return "your_discr_mismatch"
        if self.state == State.ADMIN_DOWN:
            return "admin_down"
        self.remote_discr = pkt.my_discr
        self.remote_state = pkt.state
        self.remote_desired_tx = pkt.desired_min_tx
        self.remote_mult = pkt.detect_mult
        old_min_rx, self.remote_min_rx = self.remote_min_rx, pkt.required_min_rx
        if pkt.final and self.polling:
            self.polling = False
            self.active_tx, self.active_min_rx = self.desired_tx, self.cfg.min_rx
        self.last_rx = now
        self.detect_at = now + self.detection_time()
        self._advance(pkt.state, now)
        if pkt.poll:  # answer at once, whatever the schedule (6.8.7)
            self.outbox.append(self._packet(final=True))
        if self.remote_min_rx == 0:
            self.next_tx = float("inf")  # 6.8.7: the peer wants no periodic packets
        elif self.next_tx == float("inf"):
            self.next_tx = now  # a passive end starts once it has heard the peer
        elif self.remote_min_rx < old_min_rx:  # the peer wants packets sooner
            self.next_tx = min(self.next_tx, now + self._jittered())
        return None

    def _advance(self, remote: State, now: float) -> None:
        """The state diagram of 6.2 / the last steps of 6.8.6."""
        if remote == State.ADMIN_DOWN:
            if self.state != State.DOWN:
                self._set(State.DOWN, Diag.NEIGHBOR_DOWN, now)
        elif self.state == State.DOWN:
            if remote == State.DOWN:
                self._set(State.INIT, Diag.NONE, now)
            elif remote == State.INIT:
                self._set(State.UP, Diag.NONE, now)
        elif self.state == State.INIT:
            if remote in (State.INIT, State.UP):
                self._set(State.UP, Diag.NONE, now)
        elif remote == State.DOWN:  # Up
            self._set(State.DOWN, Diag.NEIGHBOR_DOWN, now)

    def handle_timer(self, now: float) -> None:
        if now >= self.detect_at:
            if self.state in (State.INIT, State.UP):
                self._set(State.DOWN, Diag.DETECTION_EXPIRED, now)
                self.detect_at = now + self.detection_time()  # one more for the reset below
            else:  # 6.8.1: nothing heard for a detection time while Down: forget the peer
                self.remote_discr, self.remote_min_rx, self.detect_at = 0, 1, float("inf")
                if self.cfg.passive:
                    self.next_tx = float("inf")
        if now >= self.next_tx:
            if self.cfg.passive and self.remote_discr == 0:
                self.next_tx = float("inf")  # 6.8.7: passive, nothing to answer yet
            else:
                self.outbox.append(self._packet(poll=self.polling))
                self.next_tx = now + self._jittered()

    def admin(self, down: bool, now: float) -> None:
        """AdminDown (6.8.16) or back to Down."""
        if down and self.state != State.ADMIN_DOWN:
            self._set(State.ADMIN_DOWN, Diag.ADMIN_DOWN, now)
            self.detect_at = float("inf")
        elif not down and self.state == State.ADMIN_DOWN:
            self._set(State.DOWN, Diag.NONE, now)

    def reconfigure(self, cfg: SessionConfig, now: float) -> None:
        """New timers from a reload, the session kept (6.8.3: while Up, by a Poll Sequence)."""
        self.cfg = cfg
        up = self.state == State.UP
        wanted = cfg.min_tx if up else max(cfg.idle_tx, US)
        changed = wanted != self.desired_tx or cfg.min_rx != self.active_min_rx
        self.desired_tx = wanted
        if not up or wanted < self.active_tx:
            self.active_tx = wanted
        if not up or cfg.min_rx > self.active_min_rx:
            self.active_min_rx = cfg.min_rx
        if changed:
            self.polling = up
        if (changed and self.next_tx != float("inf")) or (
                not cfg.passive and self.next_tx == float("inf") and self.remote_min_rx != 0):
            self.next_tx = now

    # -- output --------------------------------------------------------------
    def take(self) -> list[ControlPacket]:
        out, self.outbox = self.outbox, []
        return out

    def take_changes(self) -> list[Change]:
        out, self.changes = self.changes, []
        return out

    def _set(self, new: State, diag: Diag, now: float) -> None:
        old, self.state, self.diag = self.state, new, diag
        self.changes.append(Change(old, new, diag, now))
        fast = new == State.UP
        wanted = self.cfg.min_tx if fast else max(self.cfg.idle_tx, US)
        if wanted != self.desired_tx:
            self.desired_tx = self.active_tx = wanted  # not Up before or after: no waiting
            self.polling = new == State.UP  # 6.8.3: a timer change while Up is a Poll Sequence
        if self.next_tx != float("inf"):
            self.next_tx = now  # 6.8.7: a changed packet SHOULD go out between the periodic ones

    def _jittered(self) -> float:
        high = 0.90 if self.cfg.multiplier == 1 else 1.0  # 6.8.7
        return self.tx_interval() * self.rng.uniform(0.75, high)

    def _packet(self, *, poll: bool = False, final: bool = False) -> ControlPacket:
        return ControlPacket(
            state=self.state, diag=self.diag, detect_mult=self.cfg.multiplier, my_discr=self.my_discr,
            your_discr=self.remote_discr, desired_min_tx=self.desired_tx, required_min_rx=self.cfg.min_rx,
            poll=poll and not final, final=final)
