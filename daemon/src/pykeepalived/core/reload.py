"""Reload as a diff (SIGHUP, ``pykeepalivedctl reload``).

1. ``load_new(path)``: parse and validate in a forked process (bounded by
   ``JUDGE_TIMEOUT``); any error -> the errors (each ``FILE:LINE:COL: error:
   ...``) and no config: the caller keeps running the old one untouched.
2. Each subsystem applies the new config as a diff of the running one:
   ``vrrp.manager.VrrpManager.apply`` (the plan is ``vrrp/plan.py``),
   ``check.health.HealthChecker.load`` (``compare()`` keeps results) and
   ``lb.plane.LoadBalancer.reload`` (see ``lb/loop.py``).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal

from ..compat.aio import TIMEOUT_ERRORS
from . import snapshot
from .judge import Verdict, blocks, verdict_bytes

log = logging.getLogger("pykeepalived.reload")


JUDGE_TIMEOUT = 120.0  # s: a file not judged by then is refused (the running config stays)


async def load_new(path: str, *, lb_backend: bool = True, timeout: float = JUDGE_TIMEOUT) -> Verdict:
    """Judge ``path`` in a process of its own (core/judge.py), the warnings logged.

    The running loop only waits on a pipe: a file that takes seconds to parse
    cannot stall VRRP (or the supervisor's liveness check); one that takes
    longer than ``timeout``, or a judge that dies, is a refused reload.  The
    judge is forked from this process, which has the config code loaded
    already (a new interpreter took longer to start than a small file takes
    to judge).  The accepted config comes as the snapshot's bytes
    (``Verdict.snapshot``): this process unpickles only the virtual servers
    it does not hold already."""
    if lb_backend:  # what the judge imports for it is imported here once, not in every forked judge
        import pykeepalived.lb.loop  # noqa: F401, PLC0415
    try:
        pid, rfd = _fork_judge(path, lb_backend)
    except OSError as err:
        return Verdict(None, [f"{path}: error: cannot start the judge: {err}"])
    try:
        out = await asyncio.wait_for(_read_all(rfd), timeout)
    except TIMEOUT_ERRORS:
        os.kill(pid, signal.SIGKILL)  # our own child, by its pid
        await _reap(pid)
        return Verdict(None, [f"{path}: error: not judged within {timeout:g} s; not loaded"])
    except asyncio.CancelledError:  # the daemon is stopping: the judge goes with it
        os.kill(pid, signal.SIGKILL)
        await _reap(pid)
        raise
    status = await _reap(pid)
    why = f"exit status {status}" if status >= 0 else f"killed by {signal.Signals(-status).name}"
    try:
        got = pickle.loads(out) if status == 0 else None
        if isinstance(got, Verdict) and got.snapshot is not None:  # only what changed is unpickled
            got.config = snapshot.decode(got.snapshot, path, keep_blobs=True)
            if got.blocks is not None:  # the next judge (forked from here) reuses its unchanged blocks
                blocks().adopt(got.blocks, got.config.virtual_servers, got.cuts)
    except snapshot.SnapshotError as exc:
        got, why = None, str(exc)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        got = None
    if not isinstance(got, Verdict):
        return Verdict(None, [f"{path}: error: the judge failed: {why}"])
    for line in got.warnings:
        log.warning("%s", line)
    return got


def _fork_judge(path: str, lb_backend: bool) -> tuple[int, int]:
    """(pid, read end of its answer).  The child touches nothing of ours: no loop, no logging,
    default signal dispositions; it writes its answer and leaves with os._exit."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        code = 70
        try:
            os.close(rfd)
            signal.set_wakeup_fd(-1)  # our loop's: a signal to the judge must not wake it
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
                signal.signal(sig, signal.SIG_DFL)
            with contextlib.suppress(OSError, AttributeError):  # not a real-time parse (vrrp_rt_priority)
                os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
            data = verdict_bytes(path, lb_backend=lb_backend)
            view = memoryview(data)
            while view:
                view = view[os.write(wfd, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(wfd)
    return pid, rfd


async def _read_all(rfd: int) -> bytes:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                os.fdopen(rfd, "rb", buffering=0))
    try:
        return await reader.read()
    finally:
        transport.close()


async def _reap(pid: int) -> int:
    """The judge's exit status (negative: the signal); polled, so no thread of ours waits on it."""
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped by someone else (a child watcher reaping all)
            return 0
        if done:
            return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else \
                (-(status & 0x7F) if status & 0x7F else status >> 8)
        await asyncio.sleep(0.005)
