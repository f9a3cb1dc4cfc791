"""Stop signals handled at once when the loop is idle (services/signals.py), on a real loop and real signals.

SIGUSR2 stands in for SIGTERM, so a broken handler cannot kill the test run.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading

from pykeepalived.services.signals import IDLE_CODE, install_stop_signals, loop_is_idle, restore_stop_signals

SIG = (signal.SIGUSR2,)


def inside_selector() -> bool:
    """Whether the caller runs inside the loop's selector wait (i.e. from the signal handler there)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code in IDLE_CODE:
            return True
        frame = frame.f_back
    return False


def send_later(delay: float = 0.05) -> threading.Timer:
    timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGUSR2))
    timer.start()
    return timer


def test_idle_loop_runs_urgent_inside_the_handler() -> None:
    async def main():
        loop = asyncio.get_running_loop()
        seen: list[str] = []

        def urgent() -> None:
            seen.append("urgent in the selector wait" if inside_selector() else "urgent from the loop")

        install_stop_signals(loop, lambda name: seen.append(f"stop {name}"), urgent, signals=SIG)
        try:
            send_later()
            await asyncio.sleep(0.2)  # the loop waits in epoll when the signal comes
        finally:
            restore_stop_signals(SIG)
        return seen
    assert asyncio.run(main()) == ["urgent in the selector wait", "stop SIGUSR2"]


def test_busy_loop_defers_urgent_to_the_loop() -> None:
    async def main():
        loop = asyncio.get_running_loop()
        seen: list[str] = []
        install_stop_signals(loop, lambda name: seen.append("stop"), lambda: seen.append("urgent"), signals=SIG)
        try:
            os.kill(os.getpid(), signal.SIGUSR2)  # arrives while this coroutine runs: not idle
            seen.append("still in the task")
            await asyncio.sleep(0.05)
        finally:
            restore_stop_signals(SIG)
        return seen
    assert asyncio.run(main()) == ["still in the task", "urgent", "stop"]


def test_reentrant_urgent_runs_anywhere() -> None:
    async def main():
        loop = asyncio.get_running_loop()
        seen: list[str] = []
        install_stop_signals(loop, lambda name: seen.append("stop"), lambda: seen.append("urgent"),
                             urgent_is_reentrant=True, signals=SIG)
        try:
            os.kill(os.getpid(), signal.SIGUSR2)
            seen.append("still in the task")
            await asyncio.sleep(0.05)
        finally:
            restore_stop_signals(SIG)
        return seen
    assert asyncio.run(main()) == ["urgent", "still in the task", "stop"]
    assert signal.getsignal(signal.SIGUSR2) is signal.SIG_DFL


def test_loop_is_idle_recognises_the_selector_frame() -> None:
    frames: list[bool] = []

    async def main():
        previous = signal.signal(signal.SIGUSR2, lambda _s, frame: frames.append(loop_is_idle(frame)))
        try:
            send_later()
            await asyncio.sleep(0.2)
            os.kill(os.getpid(), signal.SIGUSR2)
        finally:
            signal.signal(signal.SIGUSR2, previous)
    asyncio.run(main())
    assert frames == [True, False]
    assert not loop_is_idle(None)
