"""keepalived's retry / alpha semantics on a virtual clock (pure CheckerState)."""

from pykeepalived.check.base import CheckerState, CheckResult, Timing
from pykeepalived.check.scheduler import Lateness

OK, FAIL = CheckResult(True), CheckResult(False, "refused")


def drive(state: CheckerState, outcomes: str) -> list[tuple[float, bool]]:
    """Feed 'o'/'x' results; (time of the attempt, up after it) for each."""
    now, trace = 0.0, []
    for c in outcomes:
        delay = state.record(OK if c == "o" else FAIL)
        trace.append((now, state.up))
        now += delay
    return trace


def test_starts_up_without_alpha_and_down_with_alpha():
    assert CheckerState(Timing()).up
    assert not CheckerState(Timing(alpha=True)).up


def test_down_only_after_retry_failures_spaced_by_delay_before_retry():
    state = CheckerState(Timing(delay_loop=10, retry=2, delay_before_retry=3))
    trace = drive(state, "oxxx")
    assert trace == [(0, True), (10, True), (13, True), (16, False)]


def test_retry_zero_goes_down_at_first_failure():
    state = CheckerState(Timing(delay_loop=5, retry=0))
    assert drive(state, "x") == [(0, False)]


def test_one_success_brings_it_up_and_resets_retries():
    state = CheckerState(Timing(delay_loop=10, retry=1, delay_before_retry=2))
    assert [up for _, up in drive(state, "xxo")] == [True, False, True]
    # after recovery a single failure is again only a retry
    assert state.record(FAIL) == 2 and state.up


def test_down_checker_failing_waits_delay_loop_not_retry():
    state = CheckerState(Timing(delay_loop=10, retry=3, delay_before_retry=1, alpha=True))
    assert state.record(FAIL) == 10 and not state.up and state.retry_it == 0


def test_flapping_success_between_failures_never_goes_down():
    state = CheckerState(Timing(delay_loop=1, retry=1, delay_before_retry=1))
    assert all(up for _, up in drive(state, "xoxoxoxo"))
    assert state.changes == 0


def test_dynamic_weight_kept_from_last_success():
    state = CheckerState(Timing())
    state.record(CheckResult(True, weight=7))
    state.record(CheckResult(True))
    assert state.weight == 7


def test_lateness_percentiles():
    lat = Lateness()
    for i in range(100):
        lat.record(i / 1000)
    assert lat.count == 100 and lat.max == 0.099
    assert lat.percentile(50) == 0.05 and lat.percentile(99) == 0.099
