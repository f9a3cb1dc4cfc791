"""SIGTERM acted on the moment it arrives, when the event loop is idle.

A stopping VRRP master must send its priority-0 advert at once: the backup
takes over one Skew_Time after it (RFC 5798 6.4.3), so every delay before
it is failover time.  ``loop.add_signal_handler`` runs the callback only
after the loop has noticed the wake-up byte and gone round once more
(~0.3–0.5 ms per process measured in the failover bench; the parent and
the VRRP child each pay it).

A Python-level handler (``signal.signal``) runs as soon as the signal
interrupts the loop's ``epoll_wait`` (PEP 475), and its ``frame`` argument
says where the interpreter was.  When that is the selector's ``select``,
no loop callback is half-way through: acting then is the same as one more
callback, so ``urgent()`` runs right there.  Anywhere else it is only
scheduled.  ``request_stop`` is always scheduled (it must be idempotent
with ``urgent``), so the orderly stop runs as before.
"""
from __future__ import annotations

import asyncio
import selectors
import signal
from collections.abc import Callable

IDLE_CODE = frozenset(
    cls.select.__code__ for cls in (getattr(selectors, name, None) for name in (
        "EpollSelector", "PollSelector", "SelectSelector", "DevpollSelector", "KqueueSelector"))
    if cls is not None)


def loop_is_idle(frame) -> bool:
    """Whether ``frame`` (a signal handler's) is the event loop waiting in its selector."""
    return frame is not None and frame.f_code in IDLE_CODE


def install_stop_signals(loop: asyncio.AbstractEventLoop, request_stop: Callable[[str], None],
                         urgent: Callable[[], None] | None = None, *, urgent_is_reentrant: bool = False,
                         signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)) -> None:
    """On each of ``signals``: ``urgent()`` at once if the loop is idle, or anywhere when
    ``urgent_is_reentrant`` (it touches no shared state, e.g. only ``os.kill``); else first
    thing in the loop.  Then ``request_stop(name)`` in the loop."""

    def handler(signum: int, frame) -> None:
        if urgent is not None:
            if urgent_is_reentrant or loop_is_idle(frame):
                urgent()
            else:
                loop.call_soon_threadsafe(urgent)
        loop.call_soon_threadsafe(request_stop, signal.Signals(signum).name)

    for sig in signals:
        signal.signal(sig, handler)


def restore_stop_signals(signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)) -> None:
    for sig in signals:
        signal.signal(sig, signal.SIG_DFL)
