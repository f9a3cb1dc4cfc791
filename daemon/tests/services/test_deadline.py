"""DeadlineTimer: once, never early, re-arm replaces, cancel forgets (timerfd and the call_at fallback)."""
from __future__ import annotations

import asyncio
import os

import pytest

from pykeepalived.services import deadline
from pykeepalived.services.deadline import DeadlineTimer


@pytest.fixture(params=["timerfd", "call_at"])
def make_timer(request, monkeypatch):
    if request.param == "call_at":
        monkeypatch.setattr(deadline, "_TIMERFD", None)

    def make() -> DeadlineTimer:
        timer = DeadlineTimer()
        assert timer.precise is (request.param == "timerfd")
        return timer
    return make


def run(coro):
    return asyncio.run(coro)


def test_fires_once_and_never_before_its_deadline(make_timer) -> None:
    async def main():
        loop = asyncio.get_running_loop()
        timer = make_timer()
        fired: list[float] = []
        when = loop.time() + 0.02
        timer.arm(when, lambda: fired.append(loop.time()))
        await asyncio.sleep(0.1)
        timer.close()
        return when, fired
    when, fired = run(main())
    assert len(fired) == 1
    assert fired[0] >= when


def test_rearm_replaces_the_pending_deadline(make_timer) -> None:
    async def main():
        loop = asyncio.get_running_loop()
        timer = make_timer()
        fired: list[str] = []
        timer.arm(loop.time() + 0.03, lambda: fired.append("first"))
        timer.arm(loop.time() + 0.01, lambda: fired.append("second"))
        await asyncio.sleep(0.08)
        timer.close()
        return fired
    assert run(main()) == ["second"]


def test_cancel_forgets_and_a_past_deadline_fires_at_once(make_timer) -> None:
    async def main():
        loop = asyncio.get_running_loop()
        timer = make_timer()
        fired: list[str] = []
        timer.arm(loop.time() + 0.01, lambda: fired.append("cancelled"))
        timer.cancel()
        await asyncio.sleep(0.04)
        timer.arm(loop.time() - 1, lambda: fired.append("past"))
        for _ in range(50):  # a few loop iterations, no wall-clock wait
            await asyncio.sleep(0)
            if fired:
                break
        timer.close()
        return fired
    assert run(main()) == ["past"]


def test_an_expiry_not_yet_read_is_dropped_by_a_rearm(make_timer) -> None:
    async def main():
        loop = asyncio.get_running_loop()
        timer = make_timer()
        fired: list[str] = []
        timer.arm(loop.time() - 1, lambda: fired.append("expired"))  # due now; the loop has not run yet
        timer.arm(loop.time() + 0.02, lambda: fired.append("rearmed"))
        await asyncio.sleep(0.06)
        timer.close()
        return fired
    assert run(main()) == ["rearmed"]


def test_close_releases_the_fd() -> None:
    async def main():
        timer = DeadlineTimer()
        fd = timer._fd
        assert fd >= 0
        timer.close()
        with pytest.raises(OSError):
            os.fstat(fd)
    run(main())


def test_timers_of_a_loop_share_one_fd_and_run_in_deadline_order(make_timer) -> None:
    async def main():
        loop = asyncio.get_running_loop()
        timers = [make_timer() for _ in range(5)]
        assert len({t._fd for t in timers}) == 1
        fired: list[int] = []
        base = loop.time() + 0.02
        for i in (3, 0, 4, 1, 2):  # armed out of order
            timers[i].arm(base + i * 0.001, lambda i=i: fired.append(i))
        timers[4].cancel()
        await asyncio.sleep(0.08)
        for t in timers:
            t.close()
        return fired
    assert run(main()) == [0, 1, 2, 3]


def test_a_callback_may_rearm_its_timer_and_stale_entries_do_not_pile_up(make_timer) -> None:
    async def main():
        loop = asyncio.get_running_loop()
        timer, other = make_timer(), make_timer()
        fired: list[str] = []

        def again() -> None:
            fired.append("tick")
            if len(fired) < 3:
                timer.arm(loop.time() + 0.005, again)
        for _ in range(1000):  # a backup re-arms its down timer on every advert
            other.arm(loop.time() + 10, fired.append)
        timer.arm(loop.time() + 0.005, again)
        for _ in range(500):  # the three ticks, however busy the machine is
            await asyncio.sleep(0.01)
            if len(fired) == 3:
                break
        heap = timer._queue._due
        other.close()
        timer.close()
        return fired, len(heap)
    fired, heap = run(main())
    assert fired == ["tick"] * 3
    assert heap <= 2 + 64 + 1


def test_a_timer_with_slack_waits_for_a_wakeup_it_can_share(make_timer) -> None:
    async def main():
        loop = asyncio.get_running_loop()
        lazy, exact, alone = make_timer(), make_timer(), make_timer()
        fired: list[tuple[str, float]] = []
        armed: list[float] = []

        def exact_fired() -> None:
            fired.append(("exact", loop.time()))
            loop.call_soon(lambda: armed.append(alone._queue._armed))  # once this wake-up is done
        t = loop.time()
        lazy.arm(t + 0.02, lambda: fired.append(("lazy", loop.time())), slack=0.05)
        exact.arm(t + 0.04, exact_fired)
        alone.arm(t + 0.10, lambda: fired.append(("alone", loop.time())), slack=0.03)
        await asyncio.sleep(0.2)
        for timer in (lazy, exact, alone):
            timer.close()
        return t, fired, armed
    t, fired, armed = run(main())
    assert [name for name, _ in fired] == ["lazy", "exact", "alone"]
    assert fired[0][1] >= t + 0.04  # ran in exact's wake-up, not at its own deadline
    assert fired[2][1] >= t + 0.10
    # nothing left to share a wake-up with: the next is at its deadline + slack (unless a late
    # wake-up of exact's, on a loaded machine, found it due already)
    assert armed == [pytest.approx(t + 0.13)] or fired[1][1] >= t + 0.10


def test_a_callback_that_closes_the_last_timer_closes_the_queue(make_timer) -> None:
    async def main():
        loop = asyncio.get_running_loop()
        timer = make_timer()
        queue = timer._queue
        timer.arm(loop.time() + 0.01, timer.close)
        await asyncio.sleep(0.05)
        return queue
    queue = run(main())
    assert queue.fd == -1 and queue._handle is None
