"""Reload as a diff (SIGHUP, ``pykeepalivedctl reload``).

1. ``load_new(path)``: parse and validate in a separate process (bounded by
   ``JUDGE_TIMEOUT``); any error -> the errors (each ``FILE:LINE:COL: error:
   ...``) and no config: the caller keeps running the old one untouched.
2. Each subsystem applies the new config as a diff of the running one:
   ``vrrp.manager.VrrpManager.apply`` (the plan is ``vrrp/plan.py``),
   ``check.health.HealthChecker.load`` (``compare()`` keeps results) and
   ``lb.plane.LoadBalancer.reload`` (see ``lb/loop.py``).
"""
from __future__ import annotations

import asyncio
import logging
import pickle
import sys

from ..compat.aio import TIMEOUT_ERRORS
from . import snapshot
from .judge import Verdict

log = logging.getLogger("pykeepalived.reload")


JUDGE_TIMEOUT = 120.0  # s: a file not judged by then is refused (the running config stays)


async def load_new(path: str, *, lb_backend: bool = True, timeout: float = JUDGE_TIMEOUT) -> Verdict:
    """Judge ``path`` in a process of its own (core/judge.py), the warnings logged.

    The running loop only waits on a pipe: a file that takes seconds to parse
    cannot stall VRRP (or the supervisor's liveness check); one that takes
    longer than ``timeout``, or a judge that dies, is a refused reload.  The
    accepted config comes as the snapshot's bytes (``Verdict.snapshot``): this
    process unpickles only the virtual servers it does not hold already."""
    argv = [sys.executable, "-m", "pykeepalived.core.judge", path, *(["--lb-backend"] if lb_backend else [])]
    try:
        proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except OSError as err:
        return Verdict(None, [f"{path}: error: cannot start the judge: {err}"])
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TIMEOUT_ERRORS:
        proc.kill()  # our own child, by its pid
        await proc.wait()
        return Verdict(None, [f"{path}: error: not judged within {timeout:g} s; not loaded"])
    except asyncio.CancelledError:  # the daemon is stopping: the judge goes with it
        proc.kill()
        raise
    why = err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
    try:
        got = pickle.loads(out) if proc.returncode == 0 else None
        if isinstance(got, Verdict) and got.snapshot is not None:  # only what changed is unpickled
            got.config = snapshot.decode(got.snapshot, path)
    except snapshot.SnapshotError as exc:
        got, why = None, [str(exc)]
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        got = None
    if not isinstance(got, Verdict):
        return Verdict(None, [f"{path}: error: the judge failed: {why[0]}"])
    for line in got.warnings:
        log.warning("%s", line)
    return got
