"""Turning SIGTERM/SIGHUP into KeyboardInterrupt while labs are up, so teardown always runs.

SIGINT already raises KeyboardInterrupt.  While a teardown is running, signals
are only remembered and re-raised after it, so a second Ctrl-C cannot leave
half-removed namespaces behind.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class LabInterrupted(KeyboardInterrupt):
    """Raised in the main thread when the process is asked to stop."""


_active = 0
_tearing_down = 0
_pending: list[int] = []
_previous: dict[int, object] = {}


def _handler(signum: int, frame: FrameType | None) -> None:
    if _tearing_down:
        _pending.append(signum)
        return
    raise LabInterrupted(f"signal {signal.Signals(signum).name}")


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def acquire() -> None:
    """A lab came up: install the handlers (once, for however many labs)."""
    global _active
    _active += 1
    if _active == 1 and _in_main_thread():
        for sig in HANDLED:
            _previous[sig] = signal.signal(sig, _handler)


def release() -> None:
    """A lab went down: restore the previous handlers with the last one."""
    global _active
    _active = max(0, _active - 1)
    if _active == 0 and _in_main_thread():
        for sig, old in _previous.items():
            signal.signal(sig, old)  # type: ignore[arg-type]
        _previous.clear()


@contextmanager
def deferred() -> Iterator[None]:
    """Hold signals during teardown; re-raise the first one afterwards."""
    global _tearing_down
    _tearing_down += 1
    try:
        yield
    finally:
        _tearing_down -= 1
    if not _tearing_down and _pending:
        signum = _pending[0]
        _pending.clear()
        raise LabInterrupted(f"signal {signal.Signals(signum).name} (during teardown)")
