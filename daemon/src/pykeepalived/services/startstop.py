"""global_defs ``startup_script`` / ``shutdown_script`` (keepalived 2.2's): run once by the
process that reads the config, the startup one before any child starts (the daemon starts
when it ends, whatever its status), the shutdown one after every child has stopped.

keepalived's contract, kept here: no shell, the script's ``USER [GROUP]`` (else
``script_user``), a failure is logged and changes nothing else, and a script still running
after its timeout (``*_script_timeout``, 10 s) is sent SIGTERM with its process group, then
SIGKILL 2 s later. Blocking on purpose: nothing else runs in the parent at these two moments.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess

from .security import run_as

log = logging.getLogger("pykeepalived.services.startstop")

KILL_GRACE = 2.0  # keepalived's: SIGTERM, then SIGKILL this much later


def run(which: str, global_defs) -> int | None:
    """Run global_defs' ``{which}_script`` (``startup`` or ``shutdown``) if it has one: its exit
    status, or None (not configured, could not start, timed out or killed by a signal)."""
    script = getattr(global_defs, f"{which}_script")
    if script is None:
        return None
    timeout = getattr(global_defs, f"{which}_script_timeout")
    user, group = run_as(script, global_defs.script_user)
    log.info("running %s script %s", which, script.argv[0])
    try:
        proc = subprocess.Popen(script.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, user=user, group=group)
    except (OSError, KeyError, ValueError, subprocess.SubprocessError) as err:  # KeyError: unknown user
        log.error("%s script %s cannot run: %s", which, script.argv[0], err)
        return None
    try:
        status = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        log.error("%s script %s still running after %d s: killed", which, script.argv[0], timeout)
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(KILL_GRACE)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        _signal_group(proc.pid, signal.SIGKILL)  # whatever it started and left in its group
        return None
    if status < 0:
        log.error("%s script %s killed by signal %d", which, script.argv[0], -status)
        return None
    if status:
        log.error("%s script %s failed, status %d", which, script.argv[0], status)
    return status


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
