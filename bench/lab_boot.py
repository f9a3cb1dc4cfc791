"""Lab boot and teardown times: median of several runs for 1, 3 and 5 systemd hosts.

Run as root: .venv/bin/python bench/lab_boot.py [--runs N]
"up" is from nothing to every host's systemd reporting running/degraded (sshd
started); "down" is until namespaces, mounts, cgroups and processes are gone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab import Lab, leftovers  # noqa: E402
from lab.topology import Topology, parse  # noqa: E402


def topology(hosts: int) -> Topology:
    return parse({"name": f"bench{hosts}",
                  "hosts": {f"h{i}": {"nics": {"eth0": f"192.0.2.{10 + i}/24"}} for i in range(hosts)}})


def measure(hosts: int, runs: int) -> tuple[float, float]:
    ups, downs = [], []
    for run in range(runs):
        name = f"bench-{os.getpid()}-{hosts}-{run}"
        lab = Lab(topology(hosts), name=name, owner_pid=os.getpid())
        with lab:
            assert set(lab.states.values()) <= {"running", "degraded"}, lab.states
        assert leftovers(name) == [], leftovers(name)
        ups.append(lab.timings["up"])
        downs.append(lab.timings["down"])
    return statistics.median(ups), statistics.median(downs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"lab boot, median of {args.runs} runs ({os.cpu_count()} CPUs)")
    print(f"{'hosts':>5} | {'up (s)':>7} | {'down (s)':>8}")
    print(f"{'-' * 5}-+-{'-' * 7}-+-{'-' * 8}")
    for hosts in (1, 3, 5):
        up, down = measure(hosts, args.runs)
        print(f"{hosts:>5} | {up:>7.2f} | {down:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
