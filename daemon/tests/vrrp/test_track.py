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


def test_track_file_values_and_weights(tmp_path) -> None:
    from pykeepalived.config.model_vrrp import TrackFile
    from pykeepalived.vrrp.track import FileTracked, FileTracker, file_weight, parse_track_value

    assert [parse_track_value(t) for t in ("5\n", " -3 x", "", "junk")] == [5, -3, 0, 0]
    # weight 0: zero is OK, anything else is FAULT (keepalived.conf(5) "Track files")
    assert effective(100, [FileTracked("f", 0, value=0)]) == (100, False)
    assert effective(100, [FileTracked("f", 0, value=2)]) == (100, True)
    # otherwise value x weight moves the priority; below -253 is FAULT
    assert effective(100, [FileTracked("f", 10, value=-3)]) == (70, False)
    assert effective(100, [FileTracked("f", 254, value=-1)]) == (100, True)
    assert effective(100, [FileTracked("f", 100, value=9)]) == (353, False)  # fsm clamps to 254
    spec = TrackFile(name="tf", file=str(tmp_path / "prio"), weight=-5, init_file=True)
    assert file_weight(spec, None, False) == -5 and file_weight(spec, 2, True) == -2
    tracker = FileTracker(spec)
    assert (tmp_path / "prio").read_text() == "0\n" and tracker.value == 0
    seen: list[int] = []
    tracker.listen(seen.append)
    tracker.poll()
    assert seen == []  # unchanged file: not even re-read
    (tmp_path / "prio").write_text("12\n")
    tracker.poll()
    (tmp_path / "prio").unlink()
    tracker.poll()
    assert seen == [12, 0]
