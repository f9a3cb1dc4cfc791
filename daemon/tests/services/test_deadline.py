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
