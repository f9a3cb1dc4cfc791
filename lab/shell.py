"""Running commands and handling processes, by PID only (never by name)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Settings of the machine, not of the caller, kept in clean environments: the
# UML guest needs every process to avoid AVX (see lab/uml/noxstate.py).
MACHINE_ENV = ("GLIBC_TUNABLES", "OPENSSL_ia32cap")


class CommandError(RuntimeError):
    """A command failed; carries its output so test failures explain themselves."""

    def __init__(self, argv: Sequence[str], result: subprocess.CompletedProcess[str]):
        self.result = result
        super().__init__(
            f"{' '.join(argv)} -> exit {result.returncode}\n"
            f"stdout: {result.stdout.strip()}\nstderr: {result.stderr.strip()}"
        )


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    input: str | None = None,
    timeout: float | None = 60,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run argv (no shell), capture text output, raise CommandError on failure if check."""
    result = subprocess.run(
        list(argv),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    if check and result.returncode != 0:
        raise CommandError(argv, result)
    return result


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for commands run inside hosts (no venv or pytest leakage)."""
    env = {"PATH": CLEAN_PATH, "HOME": "/root", "LANG": "C.UTF-8", "TERM": os.environ.get("TERM", "dumb")}
    env.update({k: v for k, v in os.environ.items() if k in MACHINE_ENV})
    env.update(extra or {})
    return env


def in_cgroup(cgroup: Path) -> list[str]:
    """An argv prefix that moves the process into cgroup (v2 dir), then execs the rest."""
    return ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup)]


def alive(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def children(pid: int) -> list[int]:
    """Direct children of pid (all threads)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found.extend(int(p) for p in f.read().split())
    except FileNotFoundError:
        pass
    return found


def kill_pids(pids: Iterable[int], sig: int = signal.SIGKILL) -> None:
    """Signal each PID; ignore those already gone. Never our own process."""
    for pid in set(pids) - {os.getpid()}:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def wait_gone(pids: Iterable[int], timeout: float) -> list[int]:
    """Wait until all pids have exited; return the ones still alive at the deadline."""
    pending = set(pids)
    deadline = time.monotonic() + timeout
    while True:
        pending = {p for p in pending if alive(p)}
        if not pending or time.monotonic() >= deadline:
            return sorted(pending)
        time.sleep(0.02)


def processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line contains text (e.g. ssh ControlMasters using a lab's socket dir)."""
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found
