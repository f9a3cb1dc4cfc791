"""vrrp_track_process: what watching processes costs, and how fast a change is seen (issue 15).

    .venv/bin/python bench/process_track.py [--runs 20]

Prints, for this machine: the number of processes; the time of one full /proc scan
(process names only, and with command lines); and, for each mode that can run here
(``events``: the netlink proc connector, root in the initial namespaces; ``scan``: the
1 s /proc scan), the delay from starting a tracked ``sleep`` until its tracker says
up, and from SIGTERM until it says down (median and max over ``--runs``).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "daemon" / "src"))

from pykeepalived.config.model_track_process import TrackProcess  # noqa: E402
from pykeepalived.vrrp.process_watch import ProcessTracker, ProcessView, open_connector, scan  # noqa: E402


def scan_ms(want_argv: bool, runs: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of one scan (wall includes waiting for a busy CPU)."""
    wall, cpu = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        scan(want_argv)
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return statistics.median(wall), statistics.median(cpu)


async def follow(view: ProcessView, runs: int) -> tuple[list[float], list[float]]:
    tag = f"0.{uuid.uuid4().int % 10**12:012d}"
    tracker = ProcessTracker(TrackProcess("b", ("sleep", "300", tag), param_match="partial"), view)
    changed = asyncio.Event()
    tracker.listen(lambda up: changed.set())
    tracker.start()
    ups, downs = [], []
    for _ in range(runs):
        for proc_action, out in (("start", ups), ("stop", downs)):
            changed.clear()
            t0 = time.perf_counter()
            if proc_action == "start":
                proc = subprocess.Popen(["sleep", "300", tag])
            else:
                proc.terminate()
            await changed.wait()
            out.append((time.perf_counter() - t0) * 1000)
            if proc_action == "stop":
                proc.wait()
    await tracker.stop()
    return ups, downs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    n = sum(1 for name in os.listdir("/proc") if name.isdigit())
    print(f"processes: {n}; load average: {os.getloadavg()[0]:.1f}; cores: {os.cpu_count()}\n")
    print("| full /proc scan | median wall ms | median CPU ms |\n|---|---|---|")
    for label, want_argv in (("names (stat)", False), ("names + command lines", True)):
        wall, cpu = scan_ms(want_argv, args.runs)
        print(f"| {label} | {wall:.1f} | {cpu:.1f} |")
    print()
    sock = open_connector()
    modes = ["scan"] + (["events"] if sock is not None else [])
    if sock is not None:
        sock.close()
    print("| mode | start -> up, median / max ms | stop -> down, median / max ms |\n|---|---|---|")
    for mode in modes:
        ups, downs = asyncio.run(follow(ProcessView(use_connector=mode == "events"), args.runs))
        print(f"| {mode} | {statistics.median(ups):.0f} / {max(ups):.0f} | "
              f"{statistics.median(downs):.0f} / {max(downs):.0f} |")


if __name__ == "__main__":
    main()
