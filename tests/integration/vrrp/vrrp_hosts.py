"""Run pykeepalived and keepalived on lab hosts; read VIPs; kill by PID.

Every daemon runs inside a lab host (its own PID namespace, a private /run)
with its config and pid files under RUN_DIR; it is stopped by the PID from
its pid file, and the lab teardown removes whatever is left.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lab import Lab

RUN_DIR = "/run/hk-vrrp-test"
PYKEEPALIVED = str(Path(sys.executable).with_name("pykeepalived"))
PYKEEPALIVEDCTL = str(Path(sys.executable).with_name("pykeepalivedctl"))
# How long a start may take before the test gives up: a guard, not a measure
# (a Python start under a load average of 15 takes seconds; the VRRP bounds the
# tests check are timed from readiness, not from the fork).
START_LIMIT = 60.0
KEEPALIVED = "/usr/sbin/keepalived"


def conf(vrid: int, priority: int, vip: str, *, version: int = 3, advert_int: float = 0.2,
         state: str = "BACKUP", extra: str = "") -> str:
    return f"""global_defs {{
    vrrp_version {version}
    vrrp_garp_master_delay 1
}}
""" + instance_block(vrid, priority, vip, advert_int=advert_int, state=state, extra=extra)


def instance_block(vrid: int, priority: int, vip: str, *, advert_int: float = 0.2, state: str = "BACKUP",
                   extra: str = "") -> str:
    """``vrrp_instance VI_<vrid>`` on eth0 with one /24 VIP; ``extra``: more lines inside it."""
    return f"""vrrp_instance VI_{vrid} {{
    state {state}
    interface eth0
    virtual_router_id {vrid}
    priority {priority}
    advert_int {advert_int:g}
    virtual_ipaddress {{
        {vip}/24
    }}
{extra}}}
"""


@dataclass
class Daemon:
    """One VRRP daemon on one lab host."""

    lab: Lab
    host: str
    kind: str  # "pykeepalived" | "keepalived"
    name: str
    config: str

    @property
    def dir(self) -> str:
        return f"{RUN_DIR}/{self.name}"

    def start(self, log_dir: Path, ready: bool = True) -> Daemon:
        """Start it and wait until it is ready (``ready=False``: until its pid file is
        written, for a start that is meant to be refused)."""
        self.lab.exec(self.host, ["mkdir", "-p", self.dir])
        # a kill -9 leaves pid files behind: never read (and signal) a stale pid
        self.lab.exec(self.host, ["rm", "-f", f"{self.dir}/pykeepalived.pid", f"{self.dir}/keepalived.pid",
                                  f"{self.dir}/vrrp.pid"])
        self.write_config()
        if self.kind == "pykeepalived":
            argv = [PYKEEPALIVED, "-f", f"{self.dir}/keepalived.conf", "-n", "-l", "--runtime-dir", self.dir]
        else:
            argv = [KEEPALIVED, "-n", "-l", "-P", "-f", f"{self.dir}/keepalived.conf",
                    "-p", f"{self.dir}/keepalived.pid", "-r", f"{self.dir}/vrrp.pid"]
        log = (log_dir / f"{self.host}-{self.name}.log").open("ab")
        self.lab.popen(self.host, argv, stdout=log, stderr=log)
        wait_for(self.ready if ready else lambda: bool(self.pids()), START_LIMIT,
                 f"{self.kind} on {self.host} did not come up (see {log.name})")
        return self

    def ready(self) -> bool:
        """keepalived: both pid files (its VRRP child writes its own when it runs).
        pykeepalived: its VRRP child answers on the control socket, which it opens
        after its instances have started."""
        if not self.pids():
            return False
        if self.kind == "keepalived":
            return True
        out = self.lab.exec(self.host, [PYKEEPALIVEDCTL, "status", "--json", "--runtime-dir", self.dir], check=False)
        return out.returncode == 0 and "vrrp" in json.loads(out.stdout)["result"]["subsystems"]

    def write_config(self) -> None:
        self.lab.exec(self.host, ["tee", f"{self.dir}/keepalived.conf"], input=self.config)

    def pids(self) -> list[str]:
        """Pid(s) inside the host: keepalived's parent and VRRP child, or pykeepalived's."""
        files = ["pykeepalived.pid"] if self.kind == "pykeepalived" else ["keepalived.pid", "vrrp.pid"]
        out = self.lab.exec(self.host, ["cat"] + [f"{self.dir}/{f}" for f in files], check=False)
        pids = out.stdout.split()
        return pids if out.returncode == 0 and len(pids) == len(files) else []

    def kill(self, sig: str = "TERM") -> None:
        """Signal by PID; keepalived's parent first, so it cannot respawn a killed child."""
        pids = self.pids()
        if pids:  # one kill(1): the signals land microseconds apart
            self.lab.exec(self.host, ["kill", f"-{sig}", *pids], check=False)

    def stop(self) -> None:
        self.kill("TERM")
        wait_for(lambda: not self.running(), 10, f"{self.kind} on {self.host} did not stop")

    def running(self) -> bool:
        pids = self.pids()
        return bool(pids) and self.lab.exec(self.host, ["kill", "-0", pids[0]], check=False).returncode == 0


def has_vip(lab: Lab, host: str, vip: str) -> bool:
    return f" {vip}/" in lab.exec(host, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout


def wait_vip(lab: Lab, host: str, vip: str, timeout: float, present: bool = True) -> float:
    """Poll inside the host every 10 ms; return seconds waited (AssertionError on timeout)."""
    loop = "until" if present else "while"
    script = (f"end=$(( $(date +%s%N) + {int(timeout * 1e9)} )); "
              f"{loop} ip -o -4 addr show dev eth0 | grep -q ' {vip}/'; do "
              f"[ $(date +%s%N) -gt $end ] && exit 1; sleep 0.01; done")
    t0 = time.monotonic()
    done = lab.exec(host, ["sh", "-c", script], check=False, timeout=timeout + 10).returncode == 0
    assert done, f"{vip} {'never appeared' if present else 'stayed'} on {host} within {timeout} s"
    return time.monotonic() - t0


def ping(lab: Lab, host: str, address: str) -> bool:
    """At least one echo reply within 3 s (the first may wait for ARP)."""
    return lab.exec(host, ["ping", "-n", "-c", "5", "-i", "0.2", "-w", "3", address], check=False).returncode == 0


def wait_for(cond, timeout: float, message: str) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(message)
        time.sleep(0.05)
