"""Probes shared by the chaos tests: a timed ping, VIP watches, process accounting inside a lab host.

Lab hosts share the machine's kernel, so wall-clock times printed inside a host (``date +%s.%N``,
``ping -D``) compare directly with each other.
"""
from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path


def short() -> bool:
    """The ``make integration`` subset (CHAOS_SHORT=1): fewer runs, long scenarios skipped."""
    return os.environ.get("CHAOS_SHORT", "0") == "1"


def vip_appears(lab, host: str, vip: str, timeout: float) -> subprocess.Popen:
    """Polls host's eth0 every 5 ms in the background; prints the wall-clock time the VIP shows up."""
    script = (f"end=$(( $(date +%s) + {int(timeout)} )); "
              f"until ip -o -4 addr show dev eth0 | grep -q ' {vip}/'; do "
              f"[ $(date +%s) -gt $end ] && exit 1; sleep 0.005; done; date +%s.%N")
    return lab.popen(host, ["sh", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@contextmanager
def vip_monitor(lab, hosts: tuple[str, ...], log_dir: Path, tag: str):
    """`ip monitor address` on each host's eth0 while the block runs; yields a counter of VIP additions."""
    files = {h: log_dir / f"monitor-{tag}-{h}.log" for h in hosts}
    handles = {h: f.open("w") for h, f in files.items()}
    # the first line is the monitor's pid inside the host: the launcher forks into the host's pid
    # namespace, so killing the launcher would leave `ip monitor` running
    procs = [lab.popen(h, ["sh", "-c", "echo $$; exec ip -4 -o monitor address dev eth0"], stdout=handles[h],
                       stderr=subprocess.STDOUT) for h in hosts]

    def added(vips: set[str] | str, host: str | None = None) -> int:
        """Times any of ``vips`` was added (on ``host``, or on any watched host) so far."""
        vips = {vips} if isinstance(vips, str) else vips
        total = 0
        for h, f in files.items():
            if host in (None, h):
                for line in f.read_text().splitlines():
                    words = line.split()
                    if not line.startswith("Deleted") and "inet" in words:
                        total += words[words.index("inet") + 1].split("/")[0] in vips
        return total

    try:
        yield added
    finally:
        for h, p in zip(hosts, procs, strict=False):
            pid = (files[h].read_text().splitlines() or [""])[0]
            if pid.isdigit():
                lab.exec(h, ["kill", pid], check=False)
            p.kill()
            p.wait()
        for f in handles.values():
            f.close()


def process_tree(lab, host: str, root: str) -> list[str]:
    """``root`` and its descendants inside host (/proc/PID/task/*/children)."""
    script = ('todo="$1"; all=""; while :; do set -- $todo; [ $# -eq 0 ] && break; p=$1; shift; '
              'todo="$* $(cat /proc/$p/task/*/children 2>/dev/null)"; all="$all $p"; done; echo $all')
    return lab.exec(host, ["sh", "-c", script, "tree", root], check=False).stdout.split()


def usage(lab, host: str, pids: list[str]) -> tuple[int, float]:
    """(RSS in KiB summed over pids, CPU seconds used so far by them) read from /proc inside host."""
    script = ('t=$(getconf CLK_TCK); r=0; c=0; for p in "$@"; do '
              "r=$((r + $(awk '/^VmRSS/ {print $2}' /proc/$p/status))); "
              "c=$((c + $(sed 's/.*) //' /proc/$p/stat | awk '{print $12 + $13}'))); done; echo $r $c $t")
    rss, ticks, hz = lab.exec(host, ["sh", "-c", script, "usage", *pids]).stdout.split()
    return int(rss), int(ticks) / int(hz)


def gone(lab, host: str, pid: str) -> bool:
    """The process has exited: no /proc entry, or a zombie its parent (the lab's launcher) has not reaped."""
    out = lab.exec(host, ["sh", "-c", f"grep '^State:' /proc/{pid}/status 2>/dev/null"], check=False).stdout
    return not out or "zombie" in out
