"""Tracking arithmetic and vrrp_script rise/fall (keepalived's rules, vrrp/track.py)."""
from __future__ import annotations

from pykeepalived.config.model_vrrp import Script, VrrpScript
from pykeepalived.vrrp.track import ScriptTracker, Tracked, effective, script_weight


def _script(**kw) -> VrrpScript:
    return VrrpScript(name="chk", script=Script(("/bin/true",)), **kw)


def test_weights_and_fault() -> None:
    up_plus, down_minus = Tracked("a", 10, up=True), Tracked("b", -20, up=False)
    assert effective(100, [up_plus, down_minus]) == (90, False)
    assert effective(100, [Tracked("c", 10, up=False), Tracked("d", -20, up=True)]) == (100, False)
    assert effective(100, [Tracked("e", 0, up=False)]) == (100, True)
    assert effective(100, [Tracked("e", 0, up=True)]) == (100, False)


def test_script_weight_override_and_reverse() -> None:
    spec = _script(weight=-30)
    assert script_weight(spec, None, False) == -30
    assert script_weight(spec, 5, False) == 5
    assert script_weight(spec, None, True) == 30
    assert script_weight(_script(weight=7, weight_reverse=True), None, False) == -7


def test_rise_and_fall_count_consecutive_results() -> None:
    tracker = ScriptTracker(_script(rise=2, fall=3))
    seen: list[bool] = []
    tracker.listen(seen.append)
    assert tracker.up
    for ok in (False, False, True, False, False):  # a success resets the fall streak
        tracker.result(ok)
    assert tracker.up and seen == []
    tracker.result(False)
    assert not tracker.up and seen == [False]
    tracker.result(True)
    assert not tracker.up
    tracker.result(True)
    assert tracker.up and seen == [False, True]


def test_init_fail_starts_down() -> None:
    tracker = ScriptTracker(_script(init_fail=True))
    assert not tracker.up
    tracker.result(True)
    assert tracker.up
