"""A whole supervised daemon in a network namespace of its own (``unshare --net``), for the
keyword tests that need the real processes (names, umask, start/stop scripts, reload checks)."""
from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

START_WAIT = 60.0  # s: a loaded machine starts slowly; nothing is timed here


def wait_for(what: Callable[[], object], proc: subprocess.Popen, deadline: float) -> None:
    """Until ``what()`` is true; fails with the daemon's stderr if it exits first."""
    while not what():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else ""
        time.sleep(0.05)


@contextlib.contextmanager
def private_daemon(conf: Path, run: Path) -> Iterator[subprocess.Popen]:
    """``pykeepalived -n -f CONF`` until its VRRP child has written its pid; on leaving, a SIGTERM
    whose exit status must be 0 (the test's own failure instead kills it, by its pid)."""
    proc = subprocess.Popen(["unshare", "--net", str(Path(sys.executable).with_name("pykeepalived")), "-n",
                             "-f", str(conf), "--runtime-dir", str(run)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        pid = run / "vrrp.pid"
        wait_for(lambda: pid.exists() and pid.read_text().strip(), proc, time.monotonic() + START_WAIT)
        yield proc
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(START_WAIT) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
