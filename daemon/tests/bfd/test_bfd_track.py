"""track_bfd weights as keepalived 2.2.7 applies them (vrrp_track.c): the instance's weight wins,
reverse negates, weight 0 faults while down (or, reversed, while up)."""
from __future__ import annotations

import ipaddress

import pytest

from pykeepalived.config.model_bfd import BfdInstance
from pykeepalived.vrrp.track import Tracked, bfd_weight

NBR = ipaddress.ip_address("192.0.2.2")


@pytest.mark.parametrize(("own", "ref", "reverse", "expected"), [
    ((0, False), None, False, (0, False)),
    ((-20, False), None, False, (-20, False)),
    ((-20, False), -50, False, (-50, False)),
    ((10, True), None, False, (-10, False)),
    ((10, False), None, True, (-10, False)),
    ((0, True), None, False, (0, True)),
    ((0, False), 0, True, (0, True)),
])
def test_weight_and_reverse(own: tuple[int, bool], ref: int | None, reverse: bool,
                            expected: tuple[int, bool]) -> None:
    spec = BfdInstance("b", NBR, weight=own[0], weight_reverse=own[1])
    assert bfd_weight(spec, ref, reverse) == expected


@pytest.mark.parametrize(("weight", "invert", "session_up", "fault", "delta"), [
    (0, False, False, True, 0),     # weight 0: FAULT while not Up
    (0, False, True, False, 0),
    (0, True, True, True, 0),       # weight 0 reverse: FAULT while Up
    (-30, False, False, False, -30),  # negative: taken off while down
    (-30, False, True, False, 0),
    (15, False, True, False, 15),   # positive: added while up
    (15, False, False, False, 0),
])
def test_what_the_instance_sees(weight: int, invert: bool, session_up: bool, fault: bool, delta: int) -> None:
    tracked = Tracked("bfd:b", weight, session_up != invert)
    assert (tracked.fault, tracked.delta) == (fault, delta)
