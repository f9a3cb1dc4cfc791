"""Health-checker scale benchmark: N TCP_CHECK (or HTTP_GET) real servers at delay_loop 1 s on one core.

Real servers are listening sockets on distinct loopback addresses
(127.1.x.y:8000) owned by a child process that accepts and closes (with
``--http``: reads the request and answers a 200 with a short body); the
checker process is measured alone.  Prints CPU per 1,000 checks, the share of
one core, and the lateness distribution (actual start - scheduled start).
``--profile FILE`` writes the checker's cProfile (tottime, then cumulative).

    .venv/bin/python bench/checkers.py [--sizes 1000 5000 10000] [--seconds 10] [--http] [--profile FILE]

With ``--compare keepalived`` the whole daemons run instead, pykeepalived -C
beside keepalived 2.2.7 -C in one UML guest (bench/checker_compare.py, whose
options follow):

    .venv/bin/python bench/checkers.py --compare keepalived [--sizes ...] [--seconds 20] [--runs 1]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import ipaddress
import os
import pstats
import resource
import selectors
import socket
import subprocess
import sys
import time

from pykeepalived.check.health import HealthChecker
from pykeepalived.config.model import Config
from pykeepalived.config.model_lvs import HttpCheck, RealServer, TcpCheck, Timing, Url, VirtualServer

PORT = 8000
HTTP_RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"


def address(i: int) -> str:
    return f"127.1.{i // 250}.{i % 250 + 1}"


def raise_nofile() -> None:
    """This process only: soft limit up to the hard limit (10k listeners/sockets)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def serve(count: int, http: bool) -> None:
    """Child: ``count`` listeners; accept and close (HTTP: answer first) forever (until stdin closes)."""
    raise_nofile()
    sel = selectors.DefaultSelector()
    for i in range(count):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address(i), PORT))
        s.listen(128)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "listener")
    sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            if key.data == "stdin":
                return
            if key.data == "conn":  # HTTP: the request (one read suffices on loopback), the answer, close
                conn = key.fileobj
                sel.unregister(conn)
                try:
                    if conn.recv(4096):
                        conn.send(HTTP_RESPONSE)
                except OSError:
                    pass
                conn.close()
                continue
            while True:
                try:
                    conn, _ = key.fileobj.accept()
                except BlockingIOError:
                    break
                if http:
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ, "conn")
                else:
                    conn.close()


def config(count: int, http: bool) -> Config:
    check = HttpCheck(connect_timeout=3, url=(Url(path="/", status_code=((200, 200),)),)) if http else \
        TcpCheck(connect_timeout=3)
    rss = tuple(RealServer(ip=ipaddress.ip_address(address(i)), port=PORT, checkers=(check,)) for i in range(count))
    vs = VirtualServer(ip=ipaddress.ip_address("192.0.2.1"), port=80, quorum=1,
                       timing=Timing(delay_loop=1.0, warmup=1.0), real_servers=rss)
    return Config(virtual_servers=(vs,))


def cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def measure(count: int, seconds: float, http: bool, profile: str | None) -> dict:
    downs = []
    hc = HealthChecker(on_change=lambda vs, rs, up, w: None if up else downs.append(rs))
    hc.load(config(count, http))
    await asyncio.sleep(1.5)  # warmup spreads the first attempts over one interval
    sched = hc.scheduler
    sched.lateness.reset()
    prof = cProfile.Profile() if profile else None
    checks0, overruns0, cpu0, wall0 = sched.checks, sched.overruns, cpu(), time.monotonic()
    if prof:
        prof.enable()
    await asyncio.sleep(seconds)
    if prof:
        prof.disable()
    checks, used, wall = sched.checks - checks0, cpu() - cpu0, time.monotonic() - wall0
    if prof:
        out = io.StringIO()
        for key in ("tottime", "cumulative"):
            pstats.Stats(prof, stream=out).sort_stats(key).print_stats(30)
        with open(profile, "a") as f:
            f.write(f"=== {count} real servers\n{out.getvalue()}")
    lat = sched.lateness
    row = {"n": count, "checks": checks, "rate": checks / wall, "cpu_per_1k": used / checks * 1e6 if checks else 0,
           "core": used / wall, "p50": lat.percentile(50), "p99": lat.percentile(99), "max": lat.max,
           "late_gt_interval": sum(1 for v in lat.samples if v > 1.0), "overruns": sched.overruns - overruns0,
           "down": len(downs)}
    await hc.stop()
    return row


def main() -> int:
    if sys.argv[1:3] == ["--compare", "keepalived"]:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from checker_compare import main as compare

        return compare(sys.argv[3:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--http", action="store_true", help="HTTP_GET (url / status_code 200) instead of TCP_CHECK")
    ap.add_argument("--profile", help="append the checker's cProfile to this file (CPU figures then include it)")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.http)
        return 0
    raise_nofile()
    gc.freeze()
    kind = "HTTP_GET" if args.http else "TCP_CHECK"
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {kind}, delay_loop 1 s, "
          f"{args.seconds:g} s measured per size, load average {os.getloadavg()[0]:.1f}")
    print(f"{'real servers':>12} {'checks/s':>9} {'CPU ms/1k':>9} {'core %':>7} {'late p50':>9} {'late p99':>9} "
          f"{'late max':>9} {'>1 interval':>11} {'overruns':>8} {'false down':>10}")
    for n in args.sizes:
        child = subprocess.Popen([sys.executable, __file__, "--serve", str(n)] + (["--http"] if args.http else []),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "ready"
            r = asyncio.run(measure(n, args.seconds, args.http, args.profile))
        finally:
            child.stdin.close()
            child.wait(10)
        print(f"{r['n']:>12} {r['rate']:>9.0f} {r['cpu_per_1k']:>9.1f} {r['core'] * 100:>6.0f}% "
              f"{r['p50'] * 1000:>7.2f}ms {r['p99'] * 1000:>7.2f}ms {r['max'] * 1000:>7.1f}ms "
              f"{r['late_gt_interval']:>11} {r['overruns']:>8} {r['down']:>10}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
