"""Running a command inside a user-mode-linux guest (a kernel with IPVS), optionally with a lab.

    result = run_in_uml([sys.executable, "-m", "lab.checks.ipvs_smoke"], topology="ipvs")
    assert result.returncode == 0, result.output

The guest's root is the host's / (read-only), so the repo, the venv, ip and
ipvsadm are the real ones.  The command runs in the repo with the lab (if a
topology is given) already up inside the guest: ``Lab.attach(os.environ["HAPAIR_LAB"])``.
Files it writes to ``$HAPAIR_SHARE`` come back in ``GuestResult.files``.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths, signals
from ..shell import in_cgroup
from ..state import LabState
from ..teardown import teardown
from ..topology import resolve
from .kernel import ensure_kernel

INIT = Path(__file__).with_name("init.sh")
NOXSTATE = Path(__file__).with_name("noxstate.py")
# UML runs without XSTATE here (see noxstate.py), so AVX state is not kept per
# guest process: every guest process must stay on SSE code paths.
NO_AVX_ENV = (
    "GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,"
    "-AVX512CD,-AVX_Fast_Unaligned_Load",
    "OPENSSL_ia32cap=~0x1000000000000000:0",
)


@dataclass
class GuestResult:
    returncode: int  # the command's exit code; 124 on timeout, 125 if the guest died
    output: str  # the guest console: the command's stdout and stderr
    files: dict[str, str] = field(default_factory=dict)  # text files it left in $HAPAIR_SHARE
    seconds: float = 0.0

    def assert_check(self, checks_file: str, name: str) -> None:
        """The check ``name`` the guest recorded in ``checks_file`` ({name: [ok, detail]}) passed;
        a check it never recorded fails with the guest's return code and console tail."""
        checks = json.loads(self.files.get(checks_file, "{}"))
        assert name in checks, f"guest rc={self.returncode}, no check {name}:\n{self.output[-4000:]}"
        ok, detail = checks[name]
        assert ok, f"{name}: {detail}"


def guest_script(argv: Sequence[str], topology: str | Path | None, name: str,
                 env: dict[str, str]) -> str:
    """guest.sh: cd to the repo, export env, run argv (under `python -m lab run` with a topology)."""
    command = list(argv)
    if topology is not None:
        command = [sys.executable, "-m", "lab", "run", str(resolve(topology)), "--name", name,
                   "--"] + command
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    return (f"cd {shlex.quote(str(paths.REPO_ROOT))}\n"
            "export PYTHONDONTWRITEBYTECODE=1\n"  # the root is read-only
            f"{exports}exec {shlex.join(command)} 2>&1\n")


def run_in_uml(argv: Sequence[str], *, topology: str | Path | None = None, name: str | None = None,
               timeout: float = 300, mem: str = "768M", env: dict[str, str] | None = None,
               stream: bool = False) -> GuestResult:
    """Boot a guest, run argv in it (after bringing topology up inside), return its result."""
    kernel = ensure_kernel()
    name = paths.check_lab_name(name or f"uml-{os.getpid()}")
    if paths.lab_dir(name).exists():
        raise RuntimeError(f"lab {name} exists; `python -m lab down {name}` first")
    start = time.monotonic()
    signals.acquire()
    try:
        LabState(name, str(topology or ""), kernel="uml", owner_pid=os.getpid()).save()
        share = paths.lab_dir(name) / "share"
        share.mkdir()
        (share / "guest.sh").write_text(guest_script(argv, topology, name, env or {}))
        cgroup = paths.lab_cgroup(name) / "uml"
        paths.make_dirs(cgroup)
        boot = [sys.executable, str(NOXSTATE), str(kernel.binary), f"mem={mem}", "root=/dev/root", "rootfstype=hostfs",
                "rootflags=/", "ro", f"init={INIT}", "con=null", "con0=null,fd:1", "quiet",
                f"HAPAIR_SHARE={share}", f"HAPAIR_MODULES={kernel.modules}", *NO_AVX_ENV]
        proc = subprocess.Popen(
            in_cgroup(cgroup) + boot,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)
        output, timed_out = _collect(proc, timeout, stream)
        returncode = _exit_code(share, timed_out)
        files = {p.name: p.read_text(errors="replace") for p in share.iterdir()
                 if p.is_file() and p.name not in ("guest.sh", "exit-code")}
        return GuestResult(returncode, output, files, time.monotonic() - start)
    finally:
        with signals.deferred():
            teardown(name)
            signals.release()


def _collect(proc: subprocess.Popen, timeout: float, stream: bool) -> tuple[str, bool]:
    """Read the console until the guest powers off or the timeout kills it."""
    chunks: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace").replace("\r\n", "\n")
            chunks.append(line)
            if stream:
                sys.stdout.write(line)
                sys.stdout.flush()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        proc.wait(timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True  # teardown kills the guest through its cgroup
    thread.join(1 if timed_out else 10)
    return "".join(chunks), timed_out


def _exit_code(share: Path, timed_out: bool) -> int:
    if timed_out:
        return 124
    try:
        return int((share / "exit-code").read_text().strip())
    except (FileNotFoundError, ValueError):
        return 125
