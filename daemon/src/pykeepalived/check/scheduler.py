"""Runs many checkers on one event loop: one timer per checker, never two attempts in flight.

Each checker ("job") has a scheduled start ``due``.  A timer fires at ``due``;
the attempt runs as a task; when it ends, :class:`CheckerState` says how long
to wait.  After ``delay_loop`` the next start stays on the job's own grid
(``due + delay_loop``), so start-to-start spacing is delay_loop however long
the check took; after a failure it is ``end + delay_before_retry`` as in
keepalived.  An attempt that outlives its interval is an *overrun* (the next
one starts when it ends), not lateness.  *Lateness* is actual start minus
scheduled start: the event loop's own delay, i.e. what an overloaded
scheduler would show.

The hot path keeps syscalls out: the loop is remembered at ``add()``
(``asyncio.get_running_loop()`` calls getpid(2) on every call in CPython
3.11), and a TCP attempt reads the clock twice (start, end), its end time
doubling as the scheduler's "now".
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .base import BaseChecker, CheckerState, CheckResult, Timing
from .tcp import TcpAttempt

log = logging.getLogger(__name__)


@dataclass
class Lateness:
    """A bounded sample of start lateness (seconds) plus exact count and maximum."""

    samples: deque = field(default_factory=lambda: deque(maxlen=1_000_000))
    count: int = 0
    max: float = 0.0

    def record(self, value: float) -> None:
        self.samples.append(value)
        self.count += 1
        self.max = max(self.max, value)

    def percentile(self, p: float) -> float:
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def reset(self) -> None:
        self.samples.clear()
        self.count, self.max = 0, 0.0


ResultCallback = Callable[["Job", CheckResult, bool], None]


class Job:
    """One checker with its state and its single timer/task."""

    __slots__ = ("checker", "state", "on_result", "due", "handle", "task", "runs", "overruns")

    def __init__(self, checker: BaseChecker, state: CheckerState, on_result: ResultCallback) -> None:
        self.checker, self.state, self.on_result = checker, state, on_result
        self.due = 0.0
        self.handle: asyncio.TimerHandle | None = None
        self.task: asyncio.Task | TcpAttempt | None = None  # anything with cancel()
        self.runs = self.overruns = 0


class Scheduler:
    """Timers and tasks for all jobs; must be used from the running event loop."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()
        self.jobs: set[Job] = set()
        self.lateness = Lateness()
        self.checks = 0
        self.overruns = 0
        self.loop: asyncio.AbstractEventLoop | None = None  # the running loop, set by add()

    def add(self, checker: BaseChecker, timing: Timing, on_result: ResultCallback,
            state: CheckerState | None = None) -> Job:
        """Start running ``checker``: first attempt after a random warmup delay (0..warmup)."""
        self.loop = loop = asyncio.get_running_loop()
        job = Job(checker, state or CheckerState(timing), on_result)
        self.jobs.add(job)
        warmup = timing.warmup
        self._arm(job, loop.time() + (self.rng.uniform(0, warmup) if warmup > 0 else 0.0))
        return job

    def adopt(self, job: Job, on_result: ResultCallback) -> None:
        """Keep a running job across a reload (same checker config): only the callback changes."""
        job.on_result = on_result

    def remove(self, job: Job) -> None:
        """Stop a job: its timer is cancelled and an attempt in flight is cancelled."""
        self.jobs.discard(job)
        if job.handle is not None:
            job.handle.cancel()
            job.handle = None
        if job.task is not None:
            job.task.cancel()

    async def close(self) -> None:
        """Remove every job and wait for cancelled attempts to unwind."""
        tasks = [job.task for job in self.jobs if isinstance(job.task, asyncio.Task)]
        for job in list(self.jobs):
            self.remove(job)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _arm(self, job: Job, due: float) -> None:
        job.due = due
        job.handle = self.loop.call_at(due, self._fire, job)  # type: ignore[union-attr]

    def _fire(self, job: Job) -> None:
        job.handle = None
        if job not in self.jobs or job.task is not None:
            return
        loop = self.loop
        now = loop.time()  # type: ignore[union-attr]
        self.lateness.record(now - job.due)
        start = getattr(job.checker, "start", None)
        if start is not None:  # callback fast path (TCP_CHECK): no task per attempt; ends at now + latency
            job.task = start(loop, lambda result: self._done(job, result, now + result.latency), now)
        else:
            job.task = loop.create_task(self._run(job))

    async def _run(self, job: Job) -> None:
        try:
            result = await job.checker.check()
        except asyncio.CancelledError:
            job.task = None
            raise
        except Exception as err:  # a checker bug must not stop the others
            log.exception("%r crashed", job.checker)
            result = CheckResult(False, f"checker error: {err}")
        self._done(job, result)

    def _done(self, job: Job, result: CheckResult, now: float | None = None) -> None:
        job.task = None
        if job not in self.jobs:
            return
        self.checks += 1
        job.runs += 1
        was_up = job.state.up
        delay = job.state.record(result)
        if now is None:
            now = self.loop.time()  # type: ignore[union-attr]
        if delay == job.state.timing.delay_loop and job.state.retry_it == 0:
            due = job.due + delay
            if due < now:  # the attempt took longer than its interval
                job.overruns += 1
                self.overruns += 1
                due = now
        else:
            due = now + delay
        self._arm(job, due)
        try:
            job.on_result(job, result, job.state.up != was_up)
        except Exception:
            log.exception("result callback failed for %r", job.checker)
