"""Helpers for the VRRP benchmarks: daemons on lab hosts, seen and signalled from outside.

A daemon is started inside a lab host through ``setsid``, so it leads its own
process group there (keepalived: parent + VRRP child; pykeepalived: one
process).  The bench maps the pid file's namespaced PID to the global PID
(``NSpid`` in ``/proc/PID/status``) and then signals by PID or process group
directly from the root PID namespace: no ``nsenter`` between the timestamp
and the ``kill(2)``.  kill -9 goes to the whole group in one ``killpg(2)``,
so keepalived's parent never sees its VRRP child die and cannot respawn it.

Sockets in a host's network namespace are made by ``setns(2)`` on this
thread, then the thread switches back (a socket keeps the namespace it was
created in).
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab import Lab  # noqa: E402

RUN_DIR = "/run/hk-bench"
PYKEEPALIVED = str(Path(sys.executable).with_name("pykeepalived"))
KEEPALIVED = "/usr/sbin/keepalived"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


@contextmanager
def in_netns(ns_path: str):
    """Run the block in another network namespace (this thread only)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(ns_path, os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns_path}")
        yield
    finally:
        if _libc.setns(own, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns back")
        os.close(own)
        os.close(target)


def host_netns(lab: Lab, host: str) -> str:
    return f"/proc/{lab.pid1[host]}/ns/net"


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def global_pid(lab: Lab, host: str, nspid: int) -> int | None:
    """The global PID of the process that is ``nspid`` in host's PID namespace."""
    want = os.readlink(f"/proc/{lab.pid1[host]}/ns/pid")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/pid") != want:
                continue
        except OSError:
            continue
        for line in _read(f"/proc/{entry}/status").splitlines():
            if line.startswith("NSpid:") and int(line.split()[-1]) == nspid:
                return int(entry)
    return None


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is pgid (global PIDs)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _read(f"/proc/{entry}/stat")
            if stat:
                fields = stat.rsplit(")", 1)[1].split()
                if fields[0] != "Z" and int(fields[2]) == pgid:
                    found.append(int(entry))
    return found


def wait_until(cond, timeout: float, message: str, step: float = 0.02) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError(message)
        time.sleep(step)


def conf(instances: list[tuple[int, str]], priority: int, *, version: int, advert_int: float,
         state: str) -> str:
    """keepalived.conf with one vrrp_instance per (vrid, vip) on eth0."""
    out = [f"global_defs {{\n    vrrp_version {version}\n    vrrp_garp_master_delay 1\n}}\n"]
    for vrid, vip in instances:
        out.append(f"""vrrp_instance VI_{vrid} {{
    state {state}
    interface eth0
    virtual_router_id {vrid}
    priority {priority}
    advert_int {advert_int:g}
    virtual_ipaddress {{
        {vip}
    }}
}}
""")
    return "".join(out)


class BenchDaemon:
    """One pykeepalived or keepalived on one lab host, in its own process group."""

    def __init__(self, lab: Lab, host: str, kind: str, name: str, config: str, log_dir: Path):
        self.lab, self.host, self.kind, self.name, self.config = lab, host, kind, name, config
        self.log = log_dir / f"{host}-{name}.log"
        self.dir = f"{RUN_DIR}/{name}"
        self.pgid: int | None = None  # global; == the main process's global PID
        self.popen: subprocess.Popen | None = None

    def _pidfiles(self) -> list[str]:
        return ["pykeepalived.pid"] if self.kind == "pykeepalived" else ["keepalived.pid", "vrrp.pid"]

    def argv(self) -> list[str]:
        cfg = f"{self.dir}/keepalived.conf"
        if self.kind == "pykeepalived":
            return [PYKEEPALIVED, "-f", cfg, "-n", "-l", "--runtime-dir", self.dir]
        return [KEEPALIVED, "-n", "-l", "-P", "-f", cfg, "-p", f"{self.dir}/keepalived.pid",
                "-r", f"{self.dir}/vrrp.pid"]

    def start(self, timeout: float = 15) -> BenchDaemon:
        assert not self.running(), f"{self.name} already running"
        files = " ".join(f"{self.dir}/{f}" for f in self._pidfiles())
        # a kill -9 leaves pid files behind: remove them, so we never read a stale pid
        self.lab.exec(self.host, ["sh", "-c", f"mkdir -p {self.dir} && rm -f {files} && "
                                  f"cat > {self.dir}/keepalived.conf"], input=self.config)
        with self.log.open("ab") as log:
            log.write(f"--- start {time.monotonic():.3f}\n".encode())
            log.flush()
            self.popen = self.lab.popen(self.host, ["setsid", *self.argv()], stdout=log, stderr=log)
        wait_until(lambda: len(self.nspids()) == len(self._pidfiles()) or self.popen.poll() is not None,
                   timeout, f"{self.kind} on {self.host}: no pid file within {timeout} s (log {self.log})")
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.kind} on {self.host} exited {self.popen.returncode} (log {self.log})")
        main = global_pid(self.lab, self.host, self.nspids()[0])
        assert main is not None and os.getpgid(main) == main, f"{self.name}: not a group leader"
        self.pgid = main
        return self

    def nspids(self) -> list[int]:
        root = self.lab.root(self.host)
        pids = [_read(f"{root}{self.dir}/{f}").strip() for f in self._pidfiles()]
        return [int(p) for p in pids if p.isdigit()]

    def members(self) -> list[int]:
        return group_members(self.pgid) if self.pgid else []

    def running(self) -> bool:
        return bool(self.members())

    def kill9(self) -> None:
        """SIGKILL to the whole process group at once: no survivor can react or respawn."""
        os.killpg(self.pgid, signal.SIGKILL)

    def term(self) -> None:
        """SIGTERM to the main process (keepalived: the parent, as `systemctl stop` does)."""
        os.kill(self.pgid, signal.SIGTERM)

    def wait_gone(self, timeout: float = 10) -> None:
        try:
            wait_until(lambda: not self.members(), timeout, f"{self.name} still running after {timeout} s")
        finally:
            if self.popen is not None:
                with suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout=5)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM, wait; SIGKILL the group if it did not exit; always reap."""
        if not self.members():
            self.wait_gone(0)
            return
        self.term()
        try:
            self.wait_gone(timeout)
        except TimeoutError:
            os.killpg(self.pgid, signal.SIGKILL)
            self.wait_gone(5)
            raise

    def cleanup(self) -> None:
        """Whatever state we are in: nothing of ours left running."""
        if self.pgid and self.members():
            with suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGKILL)
            try:
                self.wait_gone(5)
            except TimeoutError as e:
                print(f"warning: {e}", file=sys.stderr)
        elif self.popen is not None and self.popen.poll() is None:
            self.popen.wait(timeout=5)


def vips_on(lab: Lab, host: str) -> set[str]:
    out = lab.exec(host, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout
    return {line.split()[3].split("/")[0] for line in out.splitlines()}
