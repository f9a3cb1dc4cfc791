"""Spurious VRRP transitions at a fast advert_int while both cores are busy (issue 16 item 7; root).

    .venv/bin/python bench/busy_adverts.py [--seconds 60] [--instances 20] [--advert 0.05]
                                           [--impls pykeepalived,keepalived] [--rt off,50]

A private network namespace (unshare) holds the master's end of a veth; a second
one, entered with nsenter, the backup's.  Both run the same implementation
with N VRRPv3 instances (priority 150 vs 100) and, for ``--rt 50``,
``vrrp_rt_priority 50``.  After a 5 s settle, one CPU burner per core
(``sha256sum /dev/zero`` at nice 0) runs for ``--seconds`` and every state
change either daemon logs in that window is counted: with one master that
keeps speaking, every one is spurious (the backup missed adverts long enough
to take over, then the master's next advert sent it back).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEEPALIVED = "/usr/sbin/keepalived"
CHANGE = {"pykeepalived": re.compile(r"\(VI_\d+\) \w+ -> \w+"),
          "keepalived": re.compile(r"\(VI_\d+\) Entering \w+ STATE")}


def config(n: int, iface: str, priority: int, advert: float, rt: str) -> str:
    out = "global_defs {\n    vrrp_version 3\n" + (f"    vrrp_rt_priority {rt}\n" if rt != "off" else "") + "}\n"
    for i in range(1, n + 1):
        out += (f"vrrp_instance VI_{i} {{\n    interface {iface}\n    virtual_router_id {i}\n"
                f"    priority {priority}\n    advert_int {advert}\n"
                f"    virtual_ipaddress {{\n        192.0.2.{100 + i}/32\n    }}\n}}\n")
    return out


def command(impl: str, conf: Path, run: Path) -> list[str]:
    if impl == "keepalived":
        return [KEEPALIVED, "-f", str(conf), "-n", "-l", "-D", "-P", "-p", str(run / "k.pid"),
                "-r", str(run / "v.pid"), "-c", str(run / "c.pid")]
    return [str(Path(sys.executable).with_name("pykeepalived")), "-f", str(conf), "-n", "-l", "-P",
            "--runtime-dir", str(run)]


def one(impl: str, rt: str, n: int, advert: float, seconds: float, peer_ns: int) -> tuple[int, int]:
    base = Path(tempfile.mkdtemp(prefix=f"busy-{impl}-"))
    procs, logs = [], []
    for side, iface, prio, prefix in (("a", "d0", 150, []), ("b", "d1", 100, ["nsenter", "-t", str(peer_ns), "-n"])):
        run = base / side
        run.mkdir()
        conf = run / "keepalived.conf"
        conf.write_text(config(n, iface, prio, advert, rt))
        log = run / "log"
        logs.append(log)
        with open(log, "w") as out:  # the child keeps its own copy of the descriptor
            procs.append(subprocess.Popen(prefix + command(impl, conf, run), stdout=out, stderr=subprocess.STDOUT))
    burners = []
    try:
        time.sleep(5)  # both up, the master elected
        marks = [log.stat().st_size for log in logs]
        burners = [subprocess.Popen(["nice", "-n", "0", "sha256sum", "/dev/zero"]) for _ in range(os.cpu_count() or 2)]
        time.sleep(seconds)
        ends = [log.stat().st_size for log in logs]  # the stop's own transitions are not counted
    finally:
        for p in burners:
            p.kill()  # our own burners, by pid
            p.wait()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
    counts = []
    for log, mark, end in zip(logs, marks, ends, strict=True):
        with open(log, errors="replace") as f:
            f.seek(mark)
            counts.append(len(CHANGE[impl].findall(f.read(end - mark))))
    return counts[0], counts[1]


def inside(args: argparse.Namespace) -> None:
    holder = subprocess.Popen(["unshare", "--net", "sleep", "infinity"])  # the backup's namespace
    try:
        time.sleep(0.5)
        for cmd in (["link", "add", "d0", "type", "veth", "peer", "name", "d1"],
                    ["link", "set", "d1", "netns", str(holder.pid)], ["addr", "add", "192.0.2.1/24", "dev", "d0"],
                    ["link", "set", "d0", "up"]):
            subprocess.run(["ip", *cmd], check=True)
        for cmd in (["addr", "add", "192.0.2.2/24", "dev", "d1"], ["link", "set", "d1", "up"]):
            subprocess.run(["nsenter", "-t", str(holder.pid), "-n", "ip", *cmd], check=True)
        print(f"{args.instances} VRRPv3 instances, advert_int {args.advert} s, {args.seconds:.0f} s with "
              f"{os.cpu_count()} CPU burners; transitions after the 5 s settle (all spurious)")
        print(f"{'implementation':<14} {'vrrp_rt_priority':>16} {'master':>7} {'backup':>7}")
        for impl in args.impls.split(","):
            for rt in args.rt.split(","):
                master, backup = one(impl, rt, args.instances, args.advert, args.seconds, holder.pid)
                print(f"{impl:<14} {rt:>16} {master:>7} {backup:>7}", flush=True)
    finally:
        holder.kill()  # our own namespace holder, by pid
        holder.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--instances", type=int, default=20)
    p.add_argument("--advert", type=float, default=0.05)
    p.add_argument("--impls", default="pykeepalived,keepalived")
    p.add_argument("--rt", default="off,50")
    p.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.inside:
        inside(args)
        return
    if os.geteuid() != 0:
        raise SystemExit("needs root (private network namespaces)")
    raise SystemExit(subprocess.run(["unshare", "--net", sys.executable, __file__, "--inside", *sys.argv[1:]],
                                    check=False).returncode)


if __name__ == "__main__":
    main()
