"""A big reload with a fast BFD session running: the BFD child keeps sending, the VRRP loop may not.

lb1 runs pykeepalived with a bfd_instance to lb2 (50 ms x 3: keepalived drops the
session after 150 ms without our packets), one MASTER instance (advert_int 0.1)
tracking it with weight 0, and is reloaded (SIGHUP) into the same plus 150 new
instances.  lb2 runs Debian's keepalived 2.2.7 with a bfd_instance back.

Three ways to run lb1, alternating: supervised (the BFD child runs the session),
the same with ``bfd_rt_priority 50`` (the BFD child under SCHED_RR), and
``-P`` (one process: the session runs in the VRRP loop, as every pykeepalived
did before the BFD child).  A capture on lb1 gives the longest gap between our
BFD packets and between VRID 1's adverts across the reload; keepalived's log says
whether it expired the session.  Medians are printed (``pytest -s``);
docs/performance.md quotes them.  Asserted: each reload is applied, and the
parent does not ask the BFD child to reload (no bfd_instance changed); times are
printed, not asserted.  About 10 minutes, so `make integration` skips it: run it
with `make bfd-reload` (HK_BFD_RELOAD=1).  On this 2-core machine the reload's CPU work (the judge,
the VRRP child) also starves keepalived's BFD process on lb2, so sessions may
drop from either side: the expiries columns say who declared them.
"""
from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

import pytest
from vrrp.vrrp_hosts import PYKEEPALIVED, START_LIMIT, conf, wait_for, wait_vip

from .bfd_hosts import CTL, BfdDaemon, bfd_block, track_bfd
from .test_bfd_keepalived import KEEPALIVED_EXPIRED, OURS_EXPIRED

pytestmark = pytest.mark.skipif(os.environ.get("HK_BFD_RELOAD") != "1",
                                reason="a 10-minute bench-test: make bfd-reload")
LAB_TOPOLOGY = "five"
LB1, LB2 = "192.0.2.11", "192.0.2.12"
VIP = "192.0.2.95"
RUNS = int(os.environ.get("HK_BFD_RUNS", "3"))
EXTRA = 150
# one status request on a child's own control socket (the parent's merges every child's)
ASK_CHILD = ("import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
             "s.sendall(b'{\"v\": 1, \"cmd\": \"status\"}\\n'); print(s.makefile().readline())")


def ours_conf(extra: int, rt: bool = False) -> str:
    text = bfd_block("to_lb2", LB2, LB1) + conf(1, 100, VIP, state="MASTER", advert_int=0.1,
                                                 extra=track_bfd("to_lb2"))
    if rt:  # the BFD child under SCHED_RR (keepalived's bfd_rt_priority)
        text = text.replace("global_defs {", "global_defs {\n    bfd_rt_priority 50")
    for n in range(2, 2 + extra):
        text += (f"vrrp_instance VI_{n} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {n}\n"
                 f"    priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        10.50.{n}.1/32\n    }}\n}}\n")
    return text


class RealtimeChild(BfdDaemon):
    """Supervised, with ``bfd_rt_priority 50``."""

    rt = True


class OneProcess(BfdDaemon):
    """``pykeepalived -P``: VRRP and its BFD sessions in one event loop."""

    def start(self, log_dir: Path, ready: bool = True) -> OneProcess:
        self.lab.exec(self.host, ["mkdir", "-p", self.dir])
        self.lab.exec(self.host, ["rm", "-f", f"{self.dir}/pykeepalived.pid"])
        self.write_config()
        argv = [PYKEEPALIVED, "-f", f"{self.dir}/keepalived.conf", "-n", "-l", "-P", "--runtime-dir", self.dir]
        log = (log_dir / f"{self.host}-{self.name}.log").open("ab")
        self.lab.popen(self.host, argv, stdout=log, stderr=log)
        wait_for(self.ready, START_LIMIT, f"pykeepalived -P on {self.host} did not come up")
        return self


def last_reload(daemon: BfdDaemon) -> dict | None:
    """None also while the daemon does not answer (``-P``'s one loop is busy applying the reload)."""
    out = daemon.lab.exec(daemon.host, [CTL, "status", "--json", "--runtime-dir", daemon.dir], check=False)
    return json.loads(out.stdout)["result"]["last_reload"] if out.returncode == 0 else None


def longest_gap(stamps: list[float]) -> float:
    return max(b - a for a, b in zip(stamps, stamps[1:], strict=False)) * 1000


def longest_up_gap(lines: list[str]) -> float:
    """The longest wait after one of our packets that said Up (a session that went down sends at
    idle_tx, 1 s: that gap is the consequence, not a stall).  tcpdump decodes BFD by port; from
    source port 49152 it does not, so a packet without a state counts as Up."""
    stamps = [(float(ln.split()[0]), "State Up" in ln or "BFDv1" not in ln) for ln in lines]
    return max(((b[0] - a[0]) * 1000 for a, b in zip(stamps, stamps[1:], strict=False) if a[1]), default=0.0)


def expiries(log: Path, after: int, pattern: str) -> int:
    """Expiries a daemon logged past byte ``after`` (keepalived's "after 0 ms" lines follow our Down)."""
    text = log.read_bytes()[after:].decode(errors="replace")
    return sum(float(n) > 0 for n in re.findall(pattern, text))


def reload_once(lab, tmp_path: Path, ours: BfdDaemon, theirs: BfdDaemon) -> tuple[float, float, int, int]:
    """(longest gap after an Up packet of ours ms, longest VRID 1 advert gap ms,
    expiries keepalived logged, expiries we logged) across the reload."""
    rt = getattr(ours, "rt", False)
    ours.config = ours_conf(0, rt)
    ours.start(tmp_path)
    try:
        wait_vip(lab, "lb1", VIP, 20)
        time.sleep(1.0)
        logs = theirs.log_path(tmp_path), ours.log_path(tmp_path)
        marks = [log.stat().st_size for log in logs]
        with lab.capture("lb1", "eth0", f"src host {LB1} and (udp dst port 3784 or ip proto 112)") as cap:
            wait_for(lambda: len(cap.lines()) >= 10, 10, "nothing captured")
            ours.config = ours_conf(EXTRA, rt)
            ours.write_config()
            ours.kill("HUP")
            wait_for(lambda: last_reload(ours) is not None, 60, "the reload did not finish")
            assert last_reload(ours)["reloaded"], last_reload(ours)
            time.sleep(1.0)
        if isinstance(ours, OneProcess):
            assert ours.log_path(tmp_path).read_text().count("reload done") >= 1
        else:  # the parent asked the VRRP child, not the BFD child (no bfd_instance changed)
            out = lab.exec("lb1", [sys.executable, "-c", ASK_CHILD, f"{ours.dir}/control.bfd.sock"]).stdout
            assert json.loads(out)["result"]["reloads"] == 0, out
        lines = [ln for ln in cap.lines("-tt") if ln[:1].isdigit()]
        bfd = [ln for ln in lines if ".3784:" in ln]
        adverts = [float(ln.split()[0]) for ln in lines if "vrid 1," in ln]
        assert bfd and adverts, "no BFD packets or no adverts captured"
        return (longest_up_gap(bfd), longest_gap(adverts), expiries(logs[0], marks[0], KEEPALIVED_EXPIRED),
                expiries(logs[1], marks[1], OURS_EXPIRED))
    finally:  # 151 instances hand over before the VRRP child exits: longer than Daemon.stop waits when loaded
        ours.kill("TERM")
        wait_for(lambda: not ours.running(), 60, "pykeepalived on lb1 did not stop")


def test_a_big_reload_does_not_stall_the_bfd_child(lab, tmp_path: Path) -> None:
    theirs = BfdDaemon(lab, "lb2", "keepalived", "bfdrl-ka",
                       bfd_block("to_lb1", LB1, LB2) + conf(250, 100, "192.0.2.98", state="MASTER"))
    modes = {"BFD child (supervised)": BfdDaemon(lab, "lb1", "pykeepalived", "bfdrl-child", ""),
             "BFD child, bfd_rt_priority 50": RealtimeChild(lab, "lb1", "pykeepalived", "bfdrl-rt", ""),
             "BFD in the VRRP loop (-P)": OneProcess(lab, "lb1", "pykeepalived", "bfdrl-loop", "")}
    results: dict[str, list[tuple[float, float, int, int]]] = {m: [] for m in modes}
    load = []
    try:
        theirs.start(tmp_path)
        for _ in range(RUNS):  # alternate, so both see the same machine load
            for mode, daemon in modes.items():
                load.append(float(Path("/proc/loadavg").read_text().split()[0]))
                results[mode].append(reload_once(lab, tmp_path, daemon, theirs))
    finally:
        for d in (*modes.values(), theirs):
            if d.running():
                d.stop()
    print(f"\nA reload adding {EXTRA} VRRP instances, BFD 50 ms x 3 with keepalived; median of {RUNS} runs; "
          f"load average {min(load):.1f}-{max(load):.1f}")
    print("| lb1 runs | longest gap after an Up BFD packet of ours (ms) | longest gap between VRID 1 adverts (ms) "
          "| expiries keepalived / we logged | runs: BFD gap / advert gap (ms) |")
    print("|---|---|---|---|---|")
    for mode, rows in results.items():
        print(f"| {mode} | {statistics.median(r[0] for r in rows):.0f} | {statistics.median(r[1] for r in rows):.0f} "
              f"| {sum(r[2] for r in rows)} / {sum(r[3] for r in rows)} | "
              f"{', '.join(f'{r[0]:.0f}/{r[1]:.0f}' for r in rows)} |")
