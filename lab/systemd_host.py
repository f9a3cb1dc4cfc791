"""Booting and watching a systemd host (recipe: shared/recipes/lab-hosts.md, step 5-6)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from .paths import make_dirs
from .shell import CLEAN_PATH, alive, children, in_cgroup, run

INIT_SCRIPT = Path(__file__).with_name("host-init.sh")
READY_STATES = ("running", "degraded")
# Hosts get fresh tmpfs on these; a checkout or venv below them is bound back in,
# so tests from a clone under /tmp (as CI may make) still find their programs.
PRIVATE_TMPFS = (Path("/tmp"), Path("/run"))
# Capabilities no host process may have: without sys_module systemd-modules-load
# cannot touch the real kernel's modules, without sys_time nothing sets its clock.
# Cut by the machine's setpriv before host-init.sh (inherited by the host's systemd).
DROPPED_CAPS = ("-sys_module,-sys_rawio,-sys_time,-syslog,-wake_alarm,-block_suspend,-mac_admin,"
                "-mac_override,-audit_control,-sys_pacct,-bpf,-perfmon")


def shared_paths(own_root: bool = False) -> list[str]:
    """Paths host-init.sh binds into a host (``ro:PATH``: read-only).

    On the machine's /: the repository and the running venv, when a host's own
    tmpfs would hide them. On a root of its own: the repository (with its
    .cache/, the wheelhouses), read-only; the machine's venv could not run there.
    """
    import sys

    repo = Path(__file__).resolve().parents[1]
    if own_root:
        return [f"ro:{repo}"]
    wanted = {repo, Path(sys.prefix).resolve()}
    return sorted(str(p) for p in wanted if any(p.is_relative_to(t) for t in PRIVATE_TMPFS))


class BootError(RuntimeError):
    """A host did not reach running/degraded; the message has its console tail."""


def start(netns: str, hostname: str, root: Path, cgroup: Path, console: Path,
          own_root: bool = False, user_ns: str | None = None) -> subprocess.Popen:
    """Launch the host; returns the `unshare` parent process (PID 1 is its only child).

    The launcher joins the host's cgroup before unsharing, so the new cgroup
    namespace is rooted there and teardown can kill the whole tree at once. With
    USER_NS (lab/userns.py) it joins that user namespace first, as its root, so the
    namespaces it makes are owned by it.
    """
    make_dirs(cgroup)
    enter = (["nsenter", f"--user={user_ns}", f"--net=/run/netns/{netns}"] if user_ns
             else ["ip", "netns", "exec", netns])
    argv = in_cgroup(cgroup) + enter + [
        "unshare", "--mount", "--uts", "--pid", "--cgroup", "--ipc", "--propagation", "private",
        "--fork", "env", "-i", "container=lxc", f"PATH={CLEAN_PATH}",
        "setpriv", "--bounding-set", DROPPED_CAPS,
        "sh", str(INIT_SCRIPT), str(root), hostname, *shared_paths(own_root),
    ]
    with open(console, "ab") as log:
        # Own session: a Ctrl-C on the terminal reaches us, not the hosts; we tear down.
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def find_pid1(launcher: subprocess.Popen, console: Path, timeout: float = 5) -> int:
    """PID (in our PID namespace) of the host's init: the launcher's child."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = children(launcher.pid)
        if kids:
            return kids[0]
        if launcher.poll() is not None:
            raise BootError(f"launcher exited with {launcher.returncode}\n{_tail(console)}")
        time.sleep(0.005)
    raise BootError("no PID 1 appeared")


def system_state(pid1: int) -> str:
    result = run(["nsenter", "-t", str(pid1), "-a", "systemctl", "is-system-running"],
                 check=False, timeout=10)
    return result.stdout.strip() or result.stderr.strip()


def wait_ready(pid1s: dict[str, int], consoles: dict[str, Path], timeout: float = 60) -> dict[str, str]:
    """Poll every host until systemd reports running/degraded; return each final state."""
    pending = dict(pid1s)
    final: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while pending:
        for name, pid in list(pending.items()):
            if not alive(pid):
                raise BootError(f"{name}: PID 1 died\n{_tail(consoles[name])}")
            status = system_state(pid)
            if status in READY_STATES:
                final[name] = status
                del pending[name]
        if pending and time.monotonic() > deadline:
            name = next(iter(pending))
            raise BootError(f"{name}: not ready after {timeout}s\n{_tail(consoles[name])}")
        if pending:
            time.sleep(0.05)
    return final


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no console log)"
