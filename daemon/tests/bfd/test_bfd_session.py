"""The BFD session state machine (RFC 5880 6.2, 6.8) driven with a virtual clock:
two sessions against each other, then the edge cases one packet at a time."""
from __future__ import annotations

import random

import pytest

from pykeepalived.bfd.packet import ControlPacket, Diag, State, decode, encode
from pykeepalived.bfd.session import Session, SessionConfig

FAST = SessionConfig(min_rx=50_000, min_tx=50_000, idle_tx=1_000_000, multiplier=3)


class Wire:
    """Two sessions; a packet sent is received at once, through the codec, unless cut."""

    def __init__(self, a_cfg: SessionConfig = FAST, b_cfg: SessionConfig = FAST) -> None:
        self.now = 0.0
        self.a = Session(a_cfg, 0xA, self.now, random.Random(1))
        self.b = Session(b_cfg, 0xB, self.now, random.Random(2))
        self.cut = False
        self.sent: list[tuple[str, ControlPacket]] = []

    def run_until(self, end: float) -> None:
        while True:
            self._deliver()
            t = min(self.a.next_deadline(), self.b.next_deadline())
            if t > end:
                self.now = end
                return
            self.now = t
            for s in (self.a, self.b):
                if s.next_deadline() <= t:
                    s.handle_timer(t)

    def _deliver(self) -> None:
        moved = True
        while moved:
            moved = False
            for src, dst, name in ((self.a, self.b, "a"), (self.b, self.a, "b")):
                for pkt in src.take():
                    moved = True
                    self.sent.append((name, pkt))
                    if not self.cut:
                        assert dst.receive(decode(encode(pkt)), self.now) is None


def test_three_way_handshake_reaches_up_on_both_ends() -> None:
    w = Wire()
    w.run_until(0.01)
    assert (w.a.state, w.b.state) == (State.UP, State.UP)
    changes = [c.new for c in w.a.take_changes()]
    assert changes in ([State.INIT, State.UP], [State.UP])


def test_up_switches_to_the_fast_rate_with_a_poll_sequence() -> None:
    w = Wire()
    w.run_until(0.5)
    polls = [p for _, p in w.sent if p.poll]
    finals = [p for _, p in w.sent if p.final]
    assert polls and finals
    assert not w.a.polling and not w.b.polling
    assert w.a.tx_interval() == pytest.approx(0.05)
    late = [p for n, p in w.sent if n == "a"][-5:]
    assert all(p.desired_min_tx == 50_000 and p.state == State.UP for p in late)


def test_detection_time_is_remote_multiplier_times_the_agreed_interval() -> None:
    w = Wire(b_cfg=SessionConfig(min_rx=50_000, min_tx=80_000, multiplier=4))
    w.run_until(1.0)
    assert w.a.detection_time() == pytest.approx(4 * 0.08)  # b's mult x max(a's rx 50, b's tx 80)
    assert w.b.detection_time() == pytest.approx(3 * 0.05)


def test_silence_brings_the_session_down_after_the_detection_time() -> None:
    w = Wire()
    w.run_until(1.0)
    last_rx = w.a.last_rx
    w.a.take_changes()
    w.cut = True
    w.run_until(2.0)
    (change,) = [c for c in w.a.take_changes() if c.new == State.DOWN]
    assert change.diag == Diag.DETECTION_EXPIRED
    assert change.at - last_rx == pytest.approx(0.15)
    assert w.a.remote_discr == 0  # forgotten one more detection time later (6.8.1)


def test_tx_jitter_stays_within_75_to_100_percent() -> None:
    s = Session(FAST, 1, 0.0, random.Random(3))
    s.remote_min_rx = 50_000
    s.active_tx = 50_000
    gaps = [s._jittered() for _ in range(2000)]
    assert min(gaps) >= 0.0375 and max(gaps) <= 0.05
    assert min(gaps) < 0.039 and max(gaps) > 0.049
    one = Session(SessionConfig(min_tx=50_000, multiplier=1), 1, 0.0, random.Random(4))
    one.remote_min_rx, one.active_tx = 50_000, 50_000
    assert max(one._jittered() for _ in range(2000)) <= 0.045  # mult 1: at most 90 %


def test_slow_rate_until_up_is_at_least_one_second() -> None:
    s = Session(SessionConfig(idle_tx=200_000), 1, 0.0)
    assert s.desired_tx == 1_000_000


def pkt(state: State, your: int = 0, **kw) -> ControlPacket:
    return ControlPacket(state=state, detect_mult=3, my_discr=0x99, your_discr=your,
                         desired_min_tx=kw.pop("tx", 50_000), required_min_rx=kw.pop("rx", 50_000), **kw)


def test_your_discriminator_zero_is_only_valid_in_down_or_admin_down() -> None:
    s = Session(FAST, 1, 0.0)
    assert s.receive(pkt(State.UP, 0), 0.0) == "your_discr_zero"
    assert s.receive(pkt(State.INIT, 0), 0.0) == "your_discr_zero"
    assert s.receive(pkt(State.DOWN, 0), 0.0) is None
    assert s.state == State.INIT


def test_a_wrong_your_discriminator_is_dropped() -> None:
    s = Session(FAST, 1, 0.0)
    assert s.receive(pkt(State.DOWN, 2), 0.0) == "your_discr_mismatch"
    assert s.state == State.DOWN


def test_down_receiving_init_goes_straight_up() -> None:
    s = Session(FAST, 1, 0.0)
    s.receive(pkt(State.INIT, 1), 0.0)
    assert s.state == State.UP


def test_down_ignores_a_remote_up() -> None:
    s = Session(FAST, 1, 0.0)
    s.receive(pkt(State.UP, 1), 0.0)
    assert s.state == State.DOWN


def test_up_goes_down_when_the_neighbor_says_down_or_admin_down() -> None:
    for remote in (State.DOWN, State.ADMIN_DOWN):
        s = Session(FAST, 1, 0.0)
        s.receive(pkt(State.INIT, 1), 0.0)
        s.receive(pkt(remote, 1), 0.01)
        assert (s.state, s.diag) == (State.DOWN, Diag.NEIGHBOR_DOWN)


def test_admin_down_discards_everything_and_tells_the_peer() -> None:
    s = Session(FAST, 1, 0.0)
    s.receive(pkt(State.INIT, 1), 0.0)
    s.admin(True, 0.1)
    assert s.receive(pkt(State.UP, 1), 0.2) == "admin_down"
    s.handle_timer(10.0)
    assert s.take()[-1].state == State.ADMIN_DOWN and s.take() == []
    assert s.state == State.ADMIN_DOWN  # no detection while AdminDown
    s.admin(False, 11.0)
    assert s.state == State.DOWN


def test_a_poll_is_answered_with_a_final_at_once() -> None:
    s = Session(FAST, 1, 0.0)
    s.receive(pkt(State.DOWN, 0, poll=True), 0.0)
    (answer,) = s.take()
    assert answer.final and not answer.poll and answer.your_discr == 0x99


def test_remote_required_rx_zero_stops_periodic_packets() -> None:
    s = Session(FAST, 1, 0.0)
    s.handle_timer(0.0)
    s.take()
    s.receive(pkt(State.DOWN, 1, rx=0), 0.1)
    assert s.next_tx == float("inf")


def test_passive_sends_nothing_until_it_hears_the_peer() -> None:
    s = Session(SessionConfig(passive=True), 1, 0.0)
    s.handle_timer(5.0)
    assert s.take() == []
    s.receive(pkt(State.DOWN), 5.0)
    s.handle_timer(5.0)
    assert [p.state for p in s.take()] == [State.INIT]


def test_the_slower_required_rx_of_the_peer_sets_our_tx_interval() -> None:
    s = Session(FAST, 1, 0.0)
    s.receive(pkt(State.INIT, 1, rx=300_000), 0.0)
    assert s.tx_interval() == pytest.approx(0.3)


def test_the_discriminator_is_never_zero() -> None:
    with pytest.raises(ValueError):
        Session(FAST, 0, 0.0)


def test_a_slower_tx_from_a_reload_waits_for_the_final_and_the_session_stays_up() -> None:
    w = Wire()
    w.run_until(1.0)
    w.a.take_changes()
    w.a.reconfigure(SessionConfig(min_rx=50_000, min_tx=200_000, multiplier=3), w.now)
    assert w.a.polling and w.a.tx_interval() == pytest.approx(0.05)  # 6.8.3: not before the Final
    polled = len([p for n, p in w.sent if n == "a" and p.poll])
    w.run_until(3.0)
    assert len([p for n, p in w.sent if n == "a" and p.poll]) > polled
    assert not w.a.polling and w.a.tx_interval() == pytest.approx(0.2)
    assert w.b.detection_time() == pytest.approx(3 * 0.2)  # b follows our advertised 200 ms
    assert w.a.take_changes() == [] and (w.a.state, w.b.state) == (State.UP, State.UP)


def test_a_faster_rx_from_a_reload_is_used_for_detection_only_after_the_final() -> None:
    w = Wire(b_cfg=SessionConfig(min_rx=10_000, min_tx=10_000, multiplier=3))
    w.a.cfg = SessionConfig(min_rx=100_000, min_tx=50_000, multiplier=3)
    w.a.active_min_rx = 100_000
    w.run_until(1.0)
    assert w.a.detection_time() == pytest.approx(0.3)
    w.a.reconfigure(SessionConfig(min_rx=20_000, min_tx=50_000, multiplier=3), w.now)
    assert w.a.detection_time() == pytest.approx(0.3)  # no Final yet: the old rx still counts
    w.run_until(2.0)
    assert w.a.detection_time() == pytest.approx(3 * 0.02)
    assert (w.a.state, w.b.state) == (State.UP, State.UP)
