"""Scheduler: one attempt in flight per checker, warmup spread, grid timing, lateness."""

import asyncio
import random

from pykeepalived.check.base import BaseChecker, CheckResult, Timing
from pykeepalived.check.scheduler import Scheduler

from .helpers import aio, target


class Probe(BaseChecker):
    """A checker that records when it ran and how many attempts overlapped."""

    kind = "PROBE"

    def __init__(self, duration: float = 0.0, ok: bool = True) -> None:
        super().__init__(target(1))
        self.duration, self.ok = duration, ok
        self.starts: list[float] = []
        self.active = self.max_active = 0

    async def check(self) -> CheckResult:
        self.starts.append(asyncio.get_running_loop().time())
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        await asyncio.sleep(self.duration)
        self.active -= 1
        return CheckResult(self.ok)


@aio
async def test_never_two_attempts_in_flight_and_overruns_counted():
    sched = Scheduler()
    probe = Probe(duration=0.12)
    sched.add(probe, Timing(delay_loop=0.05, warmup=0), lambda *a: None)
    await asyncio.sleep(0.5)
    await sched.close()
    assert probe.max_active == 1 and len(probe.starts) >= 3
    assert sched.overruns >= 2


@aio
async def test_starts_stay_on_the_delay_loop_grid():
    sched = Scheduler()
    probe = Probe(duration=0.02)
    dues = []
    sched.add(probe, Timing(delay_loop=0.1, warmup=0), lambda job, r, c: dues.append(job.due))
    await asyncio.sleep(0.55)
    await sched.close()
    # the next start is scheduled delay_loop after the previous *scheduled start*, not after the check ended
    gaps = [round(b - a, 9) for a, b in zip(dues, dues[1:])]
    assert len(gaps) >= 2 and set(gaps) == {0.1}, gaps
    assert sched.lateness.count == len(probe.starts)


@aio
async def test_warmup_spreads_first_attempts():
    sched = Scheduler(rng=random.Random(1))
    loop = asyncio.get_running_loop()
    start = loop.time()
    probes = [Probe() for _ in range(50)]
    for p in probes:
        sched.add(p, Timing(delay_loop=10, warmup=0.3), lambda *a: None)
    for _ in range(300):
        if all(p.starts for p in probes):
            break
        await asyncio.sleep(0.01)
    await sched.close()
    firsts = sorted(p.starts[0] - start for p in probes)
    assert firsts[0] < 0.2 and firsts[-1] > 0.2


@aio
async def test_retry_uses_delay_before_retry_and_callback_sees_changes():
    sched = Scheduler()
    probe = Probe(ok=False)
    seen = []
    sched.add(probe, Timing(delay_loop=10, retry=2, delay_before_retry=0.05, warmup=0),
              lambda job, result, changed: seen.append((result.ok, changed, job.state.up)))
    for _ in range(200):
        if len(seen) >= 3:
            break
        await asyncio.sleep(0.01)
    await sched.close()
    # three attempts 50 ms apart, the third takes it down, then it waits delay_loop
    assert seen == [(False, False, True), (False, False, True), (False, True, False)]


@aio
async def test_a_crashing_checker_is_a_failure_not_a_dead_scheduler():
    class Boom(Probe):
        async def check(self):
            raise RuntimeError("bug")
    sched = Scheduler()
    seen = []
    sched.add(Boom(), Timing(delay_loop=0.05, retry=0, warmup=0), lambda job, r, c: seen.append(r.reason))
    await asyncio.sleep(0.12)
    await sched.close()
    assert seen and seen[0] == "checker error: bug"


@aio
async def test_tcp_fast_path_keeps_the_grid_and_ends_at_start_plus_latency():
    from pykeepalived.check.tcp import TcpChecker

    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    sched = Scheduler()
    results = []
    async with server:
        job = sched.add(TcpChecker(target(server.sockets[0].getsockname()[1])), Timing(delay_loop=0.1, warmup=0),
                        lambda job, r, c: results.append((job.due, r)))
        await asyncio.sleep(0.45)
        await sched.close()
    assert len(results) >= 3 and all(r.ok for _, r in results), results
    dues = [d for d, _ in results]
    assert {round(b - a, 9) for a, b in zip(dues, dues[1:])} == {0.1}  # the grid, not end + delay_loop
    assert job.runs == sched.checks == len(results) and sched.lateness.count >= len(results)
