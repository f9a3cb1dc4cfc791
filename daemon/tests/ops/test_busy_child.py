"""A child slow because its work is large is not a stalled child (core/children.py ``Busy``);
a start that cannot finish fails once, with its reason, instead of being restarted for ever.

The rules are pure (``stalled``, ``heard``: explicit ``now``); the supervisor is then run for
real, its children being small programs that use the real ``Busy`` over the real ping pipe
in place of a start whose work is large (the data plane's first apply) or never ends."""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from pykeepalived.config.loader import loads_config
from pykeepalived.core import children as kids
from pykeepalived.core import supervisor as sv

CONF = "global_defs {\n    router_id busy\n}\n"


def child(started: float = 0.0) -> kids.Child:
    c = kids.Child("check")
    c.started = started
    return c


def test_busy_lines_are_liveness_within_the_limit_not_readiness() -> None:
    c = child()
    kids.heard(c, {"busy": "start"}, 1.0)
    assert c.last_ping is None and not c.ever_ready  # the VRRP child still waits for a loop ping
    for now in (2.0, 50.0, 200.0):
        kids.heard(c, {"busy": "start"}, now - 0.2)
        assert kids.stalled(c, now, stall=5.0, busy_limit=300.0) is None
    kids.heard(c, {"busy": "start"}, 301.5)
    why = kids.stalled(c, 302.0, stall=5.0, busy_limit=300.0)
    assert why == "busy (start) for 301.0 s, more than 300 s"


def test_busy_lines_that_stop_are_a_stall_and_a_loop_ping_ends_the_busy_work() -> None:
    c = child()
    kids.heard(c, {"busy": "reload"}, 10.0)
    assert kids.stalled(c, 16.0, stall=5.0) == "stalled for 6.0 s"  # the thread is gone too: stuck
    kids.heard(c, {"ready": True, "status": "ok"}, 11.0)
    assert c.busy is None and c.ever_ready and c.status == "ok"
    kids.heard(c, {"busy": "reload"}, 12.0)
    kids.heard(c, {"busy": "other work"}, 13.0)  # new work: its own limit from now
    assert c.busy_since == 13.0


def test_a_ping_without_a_status_keeps_the_last_one() -> None:
    """The status line (5 kB at 255 instances) goes over the pipe only when it changed."""
    c = child()
    kids.heard(c, {"ready": True, "status": "VI_1 MASTER"}, 1.0)
    kids.heard(c, {"ready": True}, 1.25)
    assert c.status == "VI_1 MASTER" and c.last_ping == 1.25
    rfd, wfd = os.pipe()
    kids.ping(wfd, "VI_1 BACKUP")
    kids.ping(wfd)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as pipe:
        assert [json.loads(line) for line in pipe] == [{"ready": True, "status": "VI_1 BACKUP"}, {"ready": True}]


def test_silence_at_start_is_bounded_by_start_timeout() -> None:
    c = child(started=100.0)
    assert kids.stalled(c, 100.0 + kids.START_TIMEOUT - 1, stall=5.0) is None
    assert kids.stalled(c, 100.0 + kids.START_TIMEOUT + 1, stall=5.0).startswith("never reported for")
    kids.heard(c, {"not": "a busy line"}, 101.0)  # any other line is a loop ping
    assert c.ever_ready


def program(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "child.py"
    path.write_text("import sys, time\nfrom pykeepalived.core.children import Busy, ping\n"
                    "fd, period = int(sys.argv[1]), float(sys.argv[2])\n" + body)
    return path


def run_supervisor(tmp_path: Path, body: str, *, busy_limit: float, timeout: float) -> tuple[int, sv.Supervisor]:
    conf = tmp_path / "k.conf"
    conf.write_text(CONF)
    script = program(tmp_path, body)

    async def main() -> tuple[int, sv.Supervisor]:
        sup = sv.Supervisor(loads_config(CONF, "k.conf")[0], str(conf), str(tmp_path / "run"), stall=1.0,
                            roles=("check",), busy_limit=busy_limit)
        sup.argv = lambda role, fd: [sys.executable, str(script), str(fd), str(kids.ping_period(sup.stall))]
        task = asyncio.get_running_loop().create_task(sup.run())
        deadline = time.monotonic() + timeout
        while not task.done() and time.monotonic() < deadline and not sup.children["check"].ever_ready:
            await asyncio.sleep(0.1)
        if not task.done():  # the child's loop pinged (or the time is up): one more ping period, then stop
            await asyncio.sleep(1.0)
            sup.request_stop("test")
        return await task, sup

    return asyncio.run(main())


def test_a_start_that_cannot_finish_fails_once_with_its_reason(tmp_path: Path, caplog) -> None:
    """Busy for ever (a first apply that never ends): killed at the limit, not restarted, exit 1."""
    body = "Busy(fd, 'first apply of the data plane', period).start()\ntime.sleep(3600)\n"
    t0 = time.monotonic()
    rc, sup = run_supervisor(tmp_path, body, busy_limit=2.0, timeout=60)
    assert rc == 1
    assert sup.failed.startswith("check child could not start: busy (first apply of the data plane) for ")
    assert sup.children["check"].restarts == 0 and not sup.children["check"].alive
    assert time.monotonic() - t0 < 60
    kills = [r for r in caplog.records if "killing it" in r.getMessage()]
    assert len(kills) == 1, [r.getMessage() for r in kills]


def test_a_slow_start_is_not_a_stall(tmp_path: Path, caplog) -> None:
    """Busy for 4 s (four times the stall limit), then the loop pings: never killed (the test waits
    for that ping, however long a loaded machine takes)."""
    body = ("with Busy(fd, 'first apply of the data plane', period):\n    time.sleep(4)\n"
            "while True:\n    ping(fd, 'up')\n    time.sleep(period)\n")
    rc, sup = run_supervisor(tmp_path, body, busy_limit=30.0, timeout=120)
    assert rc == 0 and sup.failed is None
    c = sup.children["check"]
    assert c.ever_ready and c.restarts == 0 and c.status == "up"
    assert not [r for r in caplog.records if "killing it" in r.getMessage()]


def test_cpu_time_going_up_is_liveness_only_while_starting_or_busy() -> None:
    """The busy thread waits for the GIL while the work is in a long C call: the CPU time says
    the child works; a child whose CPU time stands still is stuck; a running loop must ping."""
    c = child()
    kids.heard(c, {"busy": "reload"}, 10.0)
    c.last_progress = 15.5
    assert kids.stalled(c, 16.0, stall=5.0) is None  # the busy lines are 6 s old, the CPU moved
    assert kids.stalled(c, 21.0, stall=5.0) == "stalled for 11.0 s"  # nothing since 15.5 either
    c.last_progress = 311.0
    assert kids.stalled(c, 311.0, stall=5.0, busy_limit=300.0) == "busy (reload) for 301.0 s, more than 300 s"
    kids.heard(c, {"ready": True}, 312.0)  # the loop runs: only its pings count
    assert kids.stalled(c, 318.0, stall=5.0) == "stalled for 6.0 s"


def test_a_silent_start_that_computes_is_bounded_by_the_busy_limit() -> None:
    c = child(started=100.0)
    c.last_progress = 100.0 + kids.START_TIMEOUT + 9
    assert kids.stalled(c, 100.0 + kids.START_TIMEOUT + 10, stall=5.0) is None
    c.last_progress = 399.0
    assert kids.stalled(c, 401.0, stall=5.0, busy_limit=300.0) == "starting for 301.0 s, more than 300 s"
    assert kids.stalled(c, 406.0, stall=5.0, busy_limit=300.0).startswith("never reported for")


def test_sample_progress_reads_the_cpu_time_of_a_real_process() -> None:
    """A computing process's CPU time goes up between two samples, a sleeping one's does not."""
    import subprocess  # noqa: PLC0415

    procs = {role: subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) for role, code in
             (("check", "while True: pass"), ("vrrp", "import time; print('asleep', flush=True); time.sleep(60)"))}
    try:
        assert procs["vrrp"].stdout.readline() == b"asleep\n"  # its start-up (CPU) is over
        kids_ = {role: kids.Child(role, proc=proc) for role, proc in procs.items()}  # type: ignore[arg-type]
        kids.sample_progress(kids_, 1.0)
        deadline = time.monotonic() + 30
        while kids_["check"].last_progress is None and time.monotonic() < deadline:
            time.sleep(0.2)
            kids.sample_progress(kids_, 2.0)
        assert kids_["check"].last_progress == 2.0
        assert kids_["vrrp"].last_progress is None
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()


# a C call that holds the GIL for about SECONDS (sum over a range never checks for a thread switch)
HOLD_GIL = """
t0 = time.perf_counter(); sum(range(10**6)); per = time.perf_counter() - t0
with Busy(fd, 'first apply of the data plane', period):
    sum(range(int(10**6 * SECONDS / max(per, 1e-6))))
while True:
    ping(fd, 'up')
    time.sleep(period)
"""


def test_work_that_holds_the_gil_past_the_stall_is_not_a_stall(tmp_path: Path, caplog) -> None:
    """The busy thread cannot send for 3 s (three stall periods): the CPU time keeps it alive."""
    rc, sup = run_supervisor(tmp_path, HOLD_GIL.replace("SECONDS", "3"), busy_limit=120.0, timeout=120)
    assert rc == 0 and sup.failed is None, sup.failed
    c = sup.children["check"]
    assert c.ever_ready and c.restarts == 0 and c.status == "up"
    assert not [r for r in caplog.records if "killing it" in r.getMessage()]
