"""Failover time, pykeepalived vs keepalived, in a lab (run as root).

    .venv/bin/python bench/failover.py [--runs 5] [--cases 2:1,3:1,3:0.1]

For each (version, advert_int) and each implementation, a pair of the same
implementation (lb1 priority 150 master, lb2 priority 100 backup) runs in a
lab "five"; the master is killed (kill -9, or SIGTERM = priority 0) and we
time from the signal until the VIP is on the backup's eth0 (polled every
10 ms inside the backup; nsenter adds ~10-20 ms).  The master is restarted
(it preempts) between runs.  Prints the median and range of ``--runs`` runs
next to the RFC's Master_Down_Interval and Skew_Time for priority 100.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.pytest_plugin import start_lab  # noqa: E402
from pykeepalived.vrrp.timers import master_down_interval, skew_time  # noqa: E402
from tests.integration.vrrp.vrrp_hosts import Daemon, conf, wait_vip  # noqa: E402

VIP = "192.0.2.210"


def measure(lab, kind: str, version: int, advert: float, runs: int, logs: Path) -> dict[str, list[float]]:
    vrid = 90
    master = Daemon(lab, "lb1", kind, f"bm-{kind}", conf(vrid, 150, VIP, version=version, advert_int=advert,
                                                         state="MASTER"))
    backup = Daemon(lab, "lb2", kind, f"bb-{kind}", conf(vrid, 100, VIP, version=version, advert_int=advert))
    out: dict[str, list[float]] = {"KILL": [], "TERM": []}
    slow = master_down_interval(version, 100, advert) * 3 + 5
    try:
        backup.start(logs)
        for sig in ("KILL", "TERM"):
            for _ in range(runs):
                master.start(logs)
                wait_vip(lab, "lb1", VIP, slow)
                wait_vip(lab, "lb2", VIP, slow, present=False)
                time.sleep(advert * 2)  # settled: the backup has heard a few adverts
                t0 = time.monotonic()
                master.kill(sig)
                wait_vip(lab, "lb2", VIP, slow)
                out[sig].append(time.monotonic() - t0)
                if sig == "KILL":
                    lab.exec("lb1", ["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"], check=False)
                else:
                    wait_vip(lab, "lb1", VIP, slow, present=False)
                time.sleep(0.3)
    finally:
        for d in (master, backup):
            if d.running():
                d.stop()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cases", default="2:1,3:1,3:0.1", help="VERSION:ADVERT_INT,... (default %(default)s)")
    args = ap.parse_args()
    cases = [(int(v), float(a)) for v, a in (c.split(":") for c in args.cases.split(","))]
    lab = start_lab("five")
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for version, advert in cases:
                for kind in ("pykeepalived", "keepalived"):
                    res = measure(lab, kind, version, advert, args.runs, Path(tmp))
                    rows.append((version, advert, kind, res))
                    print(f"v{version} {advert:g} s {kind}: kill -9 {sorted(res['KILL'])} "
                          f"SIGTERM {sorted(res['TERM'])}", file=sys.stderr, flush=True)
    finally:
        lab.down()
    print(f"\nfailover time to VIP on the backup (priority 100), median [min-max] of {args.runs} runs\n")
    print(f"{'ver':>3} {'advert':>6} {'impl':<13} {'kill -9':>22} {'MDI':>6} {'SIGTERM':>22} {'Skew':>6}")
    for version, advert, kind, res in rows:
        mdi, skew = master_down_interval(version, 100, advert), skew_time(version, 100, advert)

        def cell(xs: list[float]) -> str:
            return f"{statistics.median(xs):.3f} [{min(xs):.3f}-{max(xs):.3f}]"

        print(f"v{version:<2} {advert:>6g} {kind:<13} {cell(res['KILL']):>22} {mdi:>6.3f} "
              f"{cell(res['TERM']):>22} {skew:>6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
