"""CPU and memory of one VRRP daemon holding N instances, pykeepalived vs keepalived (root).

    .venv/bin/python bench/footprint.py [--sizes 1,50,255] [--seconds 30] [--runs 1]
                                        [--version 3] [--alone] [--impls pykeepalived,keepalived]
                                        [--before SRC]

In a lab "five": lb1 runs one daemon with N vrrp_instances (VRIDs 1..N,
one /32 VIP each, advert_int 1 s, priority 150, `state MASTER`), lb2 the same
implementation as the peer backup (priority 100) unless ``--alone``.  Once
all N VIPs are on lb1 and 3 s have passed (GARP bursts done), both daemons
are measured over ``--seconds``:

- CPU: utime+stime from /proc/PID/stat (all threads; keepalived: parent +
  VRRP child summed) over the window, as % of one core (tick 10 ms), and
  per process with its system part (the kernel's work for the process:
  sends, timer syscalls, and the softirq delivery it is charged for);
- memory at the end of the window: VmRSS and VmHWM (/proc/PID/status) and
  Pss (/proc/PID/smaps_rollup), summed over the daemon's processes, and per
  process in a second table (main process first).

``--before SRC`` adds a third implementation, "before": pykeepalived run with
``PYTHONPATH=SRC`` (e.g. ``git archive OLD daemon/src | tar -x -C .cache/x``,
SRC being .cache/x/daemon/src), so a change is measured side by side with the
tree it changes and with keepalived, in the same run.

Implementations alternate within a run (same machine load); with
``--runs`` > 1 the table shows medians.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vrrp_lab import BenchDaemon, conf, vips_on, wait_until  # noqa: E402

from lab.pytest_plugin import start_lab  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> tuple[int, int]:
    """utime, stime of ``pid`` (all its threads), in clock ticks; (0, 0) once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0, 0
    return int(fields[11]), int(fields[12])


def memory_kb(pids: list[int]) -> dict[str, int]:
    out = {"VmRSS": 0, "VmHWM": 0, "Pss": 0}
    for pid in pids:
        for path in (f"/proc/{pid}/status", f"/proc/{pid}/smaps_rollup"):
            try:
                with open(path) as f:
                    for line in f:
                        key = line.split(":", 1)[0]
                        if key in out:
                            out[key] += int(line.split()[1])
            except (FileNotFoundError, ProcessLookupError):
                pass
    return out


def instances(n: int) -> list[tuple[int, str]]:
    return [(vrid, f"10.77.{vrid}.1/32") for vrid in range(1, n + 1)]


class BeforeDaemon(BenchDaemon):
    """pykeepalived from another source tree (``--before``): ``env`` execs it, the pid stays."""

    def __init__(self, *args, src: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.src = src

    def argv(self) -> list[str]:
        return ["env", f"PYTHONPATH={self.src}", *super().argv()]


def daemon(lab, host: str, kind: str, name: str, config: str, logs: Path, before: str | None) -> BenchDaemon:
    if kind == "before":
        return BeforeDaemon(lab, host, "pykeepalived", name, config, logs, src=before)
    return BenchDaemon(lab, host, kind, name, config, logs)


def measure(lab, kind: str, n: int, args, logs: Path) -> dict[str, dict[str, float]]:
    inst = instances(n)
    vips = {v.split("/")[0] for _, v in inst}
    daemons = {"master": daemon(lab, "lb1", kind, f"fm-{kind}",
                                conf(inst, 150, version=args.version, advert_int=1, state="MASTER"), logs, args.before)}
    if not args.alone:
        daemons["backup"] = daemon(lab, "lb2", kind, f"fb-{kind}",
                                   conf(inst, 100, version=args.version, advert_int=1, state="BACKUP"), logs,
                                   args.before)
    try:
        for d in daemons.values():
            d.start(timeout=60)
        wait_until(lambda: vips <= vips_on(lab, "lb1"), 30, f"{kind}: not all {n} VIPs on lb1", step=0.2)
        time.sleep(3)
        if not args.alone and vips & vips_on(lab, "lb2"):
            raise RuntimeError(f"{kind}: the backup holds VIPs")
        members = {role: d.members() for role, d in daemons.items()}
        c0, t0 = {pid: cpu_ticks(pid) for p in members.values() for pid in p}, time.monotonic()
        time.sleep(args.seconds)
        c1, t1 = {pid: cpu_ticks(pid) for p in members.values() for pid in p}, time.monotonic()

        def pct(pid: int, which: int) -> float:  # which: 0 user, 1 system
            return 100 * (c1[pid][which] - c0[pid][which]) / TICK / (t1 - t0)

        out = {}
        for role, pids in members.items():
            if [p for p in pids if p not in daemons[role].members()]:
                raise RuntimeError(f"{kind} {role}: a process exited during the window")
            mem = memory_kb(pids)
            out[role] = {"cpu": sum(pct(p, 0) + pct(p, 1) for p in pids), "procs": len(pids),
                         **{k: v / 1024 for k, v in mem.items()}}
            for i, pid in enumerate(sorted(pids, key=lambda p: p != daemons[role].pgid)):  # the main one first
                one = memory_kb([pid])
                out[role][f"proc{i}"] = {"cpu": pct(pid, 0) + pct(pid, 1), "sys": pct(pid, 1),
                                         **{k: v / 1024 for k, v in one.items()}}
        if not vips <= vips_on(lab, "lb1"):
            raise RuntimeError(f"{kind}: lb1 lost VIPs during the window")
        return out
    finally:
        for d in daemons.values():
            try:
                d.stop(timeout=30)
            except Exception as e:  # noqa: BLE001 - cleanup continues
                print(f"  warning: {e}", file=sys.stderr)
            d.cleanup()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,50,255")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--version", type=int, default=3)
    ap.add_argument("--alone", action="store_true", help="no peer backup on lb2")
    ap.add_argument("--impls", default="pykeepalived,keepalived")
    ap.add_argument("--before", metavar="SRC", help="also run pykeepalived from this source tree, as \"before\"")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    impls = args.impls.split(",")
    if args.before:
        args.before = str(Path(args.before).resolve())
        if not Path(args.before, "pykeepalived", "__init__.py").is_file():
            ap.error(f"--before {args.before}: no pykeepalived package there")
        impls.insert(0, "before")
    res: dict[tuple[int, str], list[dict]] = {(n, k): [] for n in sizes for k in impls}
    lab = start_lab("five")
    try:
        with tempfile.TemporaryDirectory(prefix="footprint-") as tmp:
            for run in range(args.runs):
                for n in sizes:
                    for kind in (impls if run % 2 == 0 else impls[::-1]):
                        r = measure(lab, kind, n, args, Path(tmp))
                        res[(n, kind)].append(r)
                        print(f"  {n} {kind}: " + "; ".join(
                            f"{role} cpu {v['cpu']:.2f}% rss {v['VmRSS']:.1f} MB pss {v['Pss']:.1f} MB"
                            for role, v in r.items()), file=sys.stderr, flush=True)
    finally:
        lab.down()
    peer = "alone" if args.alone else "with a peer backup (same implementation) on lb2"
    print(f"\nVRRPv{args.version}, advert_int 1 s, {args.seconds:g} s window, {peer}; "
          f"median of {args.runs} run(s)\n")
    head = (f"{'instances':>9}  {'impl':<12}  {'role':<6}  {'procs':>5}  {'CPU % core':>10}  "
            f"{'VmRSS MB':>8}  {'VmHWM MB':>8}  {'Pss MB':>6}")
    print(head)
    print("-" * len(head))
    for n in sizes:
        for kind in impls:
            for role in res[(n, kind)][0]:
                rows = [r[role] for r in res[(n, kind)]]

                def med(key: str, rows=rows) -> float:
                    return statistics.median(r[key] for r in rows)

                print(f"{n:>9}  {kind:<12}  {role:<6}  {rows[0]['procs']:>5}  {med('cpu'):>10.2f}  "
                      f"{med('VmRSS'):>8.1f}  {med('VmHWM'):>8.1f}  {med('Pss'):>6.1f}")
    print("\nPer process (main process first, then its children by pid)\n")
    head = (f"{'instances':>9}  {'impl':<12}  {'role':<6}  {'process':<7}  {'CPU % core':>10}  {'of it sys':>9}  "
            f"{'VmRSS MB':>8}  {'Pss MB':>6}")
    print(head)
    print("-" * len(head))
    for n in sizes:
        for kind in impls:
            for role in res[(n, kind)][0]:
                for i in range(res[(n, kind)][0][role]["procs"]):
                    rows = [r[role][f"proc{i}"] for r in res[(n, kind)] if f"proc{i}" in r[role]]
                    label = "main" if i == 0 else f"child{i}"

                    def med(key: str, rows=rows) -> float:
                        return statistics.median(r[key] for r in rows)

                    print(f"{n:>9}  {kind:<12}  {role:<6}  {label:<7}  {med('cpu'):>10.2f}  {med('sys'):>9.2f}  "
                          f"{med('VmRSS'):>8.1f}  {med('Pss'):>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
