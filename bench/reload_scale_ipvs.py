#!/usr/bin/env python3
"""Reload at scale on the IPVS plane: pykeepalived and keepalived 2.2.7 in one UML guest.

    .venv/bin/python bench/reload_scale_ipvs.py [--sizes 100 1000 2000] [--runs 3] [--verbose]

The host kernel has no IPVS, so everything runs in one user-mode-linux guest
(one CPU, an emulated kernel). For N x 20 (bench/reload_scale.py's config: N
wrr NAT virtual servers of 20 real servers, no checkers) each daemon in turn
(``-C -n -l``, parent and checker child; the order alternates by size) is
started from the same file, and the bench times:

- up: start -> the kernel holds N services, the last one with its 20 dests;
  settled: -> then the daemon's processes (its session) used under 0.05 s
  of CPU in a second: its start is over (ours went on for ~17 s at 2,000
  x 20 after the kernel was up; a HUP then waited for it). The reloads
  begin 1 s after that;
- SIGHUP to the parent after (a) no edit (ours: -> its "reload done" line;
  the kernel must not change; the first one after the start is shown
  apart too), (b) one weight changed, (c) one real server added, (d) one
  virtual server of 20 added: -> the kernel shows it, read by a dest dump
  of that one service every 10 ms (lb/ipvs.py's socket). (c) and (d) are
  undone (HUP, waited for) before the next run.

Untouched: a TCP connection from a client namespace through the first
virtual server (no edit names it) to an echo server in a real-server
namespace, opened before the first reload. After each reload it must still
echo, the service's dest list must be what it was, and the dest carrying it
must still count it active: a dest deleted and re-added would count 0 (the
connection stays with the old one).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, os.environ.get("PYK_SRC") or str(HERE.parent / "daemon" / "src"))  # --plane-old: other code

from checker_compare import start_daemon, stop  # noqa: E402
from reload_scale import EXTRA_RS, RBASE, VBASE, median_text, timed  # noqa: E402
from reload_scale import config as nft_config  # noqa: E402

DAEMONS = ("pykeepalived", "keepalived")
WORK = Path("/run/rs")  # the guest's tmpfs
POLL = 0.01
PHASES = ("judged in", "reload done", "load balancing", "rejected", "not applied", "killing", "Traceback", "Error")
ECHO = """import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 8080)); s.listen(16)
def serve(c):
    while (d := c.recv(100)):
        c.sendall(d)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
"""
CLIENT = """import socket, sys
c = socket.create_connection((sys.argv[1], 80), timeout=5)
print("connected", c.getsockname()[1], flush=True)
for line in sys.stdin:
    c.sendall(line.encode()); print(c.recv(100).decode().strip(), flush=True)
"""


def config(n: int, **edit) -> str:
    return nft_config(n, 20, **edit).replace("    lb_backend nftables\n", "    router_id reloadipvs\n")


def vip(v: int) -> str:
    return str(ipaddress.IPv4Address(VBASE + v))


def sh(*argv: str, check: bool = True) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=check).stdout


class Kernel:
    """Reads of the guest's IPVS table through lb/ipvs.py's socket (ipvsadm may be absent)."""

    def __init__(self) -> None:
        from pykeepalived.lb.ipvs import IpvsBackend
        from pykeepalived.lb.table import ServiceKey, ServiceSpec

        self.backend, self.key, self.spec = IpvsBackend(), ServiceKey, ServiceSpec

    def dests(self, v: int) -> dict:
        """{(addr, port): Dest} of virtual server v."""
        spec = self.spec(self.key.ip("TCP", vip(v), 80))
        return {d.key: d for d in self.backend._dests(spec)}  # noqa: SLF001 (one service's dump)

    def services(self) -> int:
        from pykeepalived.lb.ipvs import CMD_GET_SERVICE

        return sum(1 for _ in self.backend.sock.dump(CMD_GET_SERVICE))

    def clear(self) -> None:
        from pykeepalived.lb.table import Op

        self.backend.apply([Op("del", s.spec) for s in self.backend.dump(counts=False).values()])

    def wait(self, cond, timeout: float) -> float | None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            try:
                if cond():
                    return time.monotonic() - t0
            except KeyError:  # the service or dest looked for is not there (yet)
                pass
            time.sleep(POLL)
        return None


def topology() -> None:
    """client ns -> VIPs on the guest's lo -> IPVS NAT -> real-server ns (the first service's 20 addresses)."""
    for cmd in ("ip netns add cl", "ip netns add rs", "ip link add c0 netns cl type veth peer name l0",
                "ip link add r0 netns rs type veth peer name l1", "ip addr add 10.99.0.1/24 dev l0",
                "ip addr add 10.98.0.1/24 dev l1", "ip link set l0 up", "ip link set l1 up",
                "ip -n cl addr add 10.99.0.2/24 dev c0", "ip -n cl link set c0 up", "ip -n cl link set lo up",
                "ip -n cl route add default via 10.99.0.1", "ip -n rs addr add 10.98.0.2/24 dev r0",
                "ip -n rs link set r0 up", "ip -n rs link set lo up", "ip -n rs route add default via 10.98.0.1",
                f"ip route add {ipaddress.IPv4Address(RBASE)}/27 via 10.98.0.2",
                f"ip addr add {vip(0)}/32 dev lo", "sysctl -qw net.ipv4.ip_forward=1"):
        sh(*cmd.split())
    for r in range(20):
        sh("ip", "-n", "rs", "addr", "add", f"{ipaddress.IPv4Address(RBASE + r)}/32", "dev", "lo")


class Held:
    """One established connection through virtual server 0."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(["ip", "netns", "exec", "cl", sys.executable, "-c", CLIENT, vip(0)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = self.proc.stdout.readline().split()[1]
        self.n = 0

    def echoes(self) -> bool:
        self.n += 1
        try:
            self.proc.stdin.write(f"ping{self.n}\n")
            self.proc.stdin.flush()
            return self.proc.stdout.readline().strip() == f"ping{self.n}"
        except OSError:
            return False

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def hup(proc: subprocess.Popen, k: Kernel, cond, wait: float) -> float | None:
    proc.send_signal(signal.SIGHUP)
    return k.wait(cond, wait)


def log_wait(log: Path, offset: int, mark: str, wait: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < wait:
        if mark in log.read_text(errors="replace")[offset:]:
            return time.monotonic() - t0
        time.sleep(POLL)
    return None


def session_cpu(sid: int) -> float:
    """CPU seconds (user + system) of the processes in session ``sid`` (the daemon and its children)."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid:  # after the name: state ppid pgrp session ... utime(12) stime(13)
                ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(sid: int, timeout: float, quiet: float = 0.05) -> float:
    """When the daemon's processes are done starting: the first second in which they used less
    than ``quiet`` s of CPU (the kernel may hold every service before the daemon's start is over)."""
    end, last = time.monotonic() + timeout, session_cpu(sid)
    while time.monotonic() < end:
        time.sleep(1.0)
        now = session_cpu(sid)
        if now - last < quiet:
            return time.monotonic()
        last = now
    return time.monotonic()


def measure(daemon: str, n: int, runs: int, a: argparse.Namespace, k: Kernel) -> dict:
    tag = f"{daemon}-{n}"
    conf, log = WORK / f"{tag}.conf", WORK / f"{tag}.log"
    conf.write_text(config(n))
    row: dict = {"daemon": daemon, "n": n, "tries": 0, "untouched": 0, **{c: [] for c in "abcd"}}
    mid = n // 2
    t0 = time.monotonic()
    prof = Path(os.environ["HAPAIR_SHARE"]) / f"profile-daemon-{tag}.log" \
        if a.profile_daemon and daemon == "pykeepalived" else None
    proc = start_daemon(daemon, conf, WORK / f"run-{tag}", log, prof)
    held = None
    try:
        up = k.wait(lambda: len(k.dests(n - 1)) == 20 and k.services() >= n, a.up_timeout)
        if up is None or proc.poll() is not None:
            row["error"] = f"not up in {a.up_timeout:g} s: " + log.read_text(errors="replace")[-800:]
            return row
        row["up_s"] = time.monotonic() - t0
        row["settled_s"] = settle(proc.pid, a.up_timeout) - t0
        time.sleep(1.0)
        held = Held()
        base = k.dests(0)
        carrier = max(base.values(), key=lambda d: d.active).key  # the dest the connection went to

        def untouched() -> None:
            now = k.dests(0)
            row["tries"] += 1
            row["untouched"] += held.echoes() and now == base and now[carrier].active >= 1

        first = (str(ipaddress.IPv4Address(RBASE + mid * 20)), 8080)  # the real server (b) changes
        weight0 = k.dests(mid)[first].weight
        extra = (str(EXTRA_RS), 8080)
        for i in range(runs):
            offset = len(log.read_text(errors="replace"))
            proc.send_signal(signal.SIGHUP)  # (a)
            row["a"].append(log_wait(log, offset, "reload done", a.wait) if daemon == "pykeepalived" else None)
            if daemon != "pykeepalived":
                time.sleep(2.0)  # keepalived logs no end of a reload: give it time to do anything it would
            untouched()
            bump = 1 + i % 2
            conf.write_text(config(n, bump=bump))
            row["b"].append(hup(proc, k, lambda b=bump: k.dests(mid)[first].weight == weight0 + b, a.wait))
            untouched()
            conf.write_text(config(n, bump=bump, add_rs=True))
            row["c"].append(hup(proc, k, lambda: extra in k.dests(mid), a.wait))
            untouched()
            conf.write_text(config(n, bump=bump))
            hup(proc, k, lambda: extra not in k.dests(mid), a.wait)
            conf.write_text(config(n, bump=bump, add_vs=True))
            row["d"].append(hup(proc, k, lambda: len(k.dests(n)) == 20, a.wait))
            untouched()
            conf.write_text(config(n, bump=bump))
            hup(proc, k, lambda: not k.dests(n), a.wait)
        return row
    finally:
        if held is not None:
            held.close()
        stop(proc)
        text = log.read_text(errors="replace")
        row["warnings"] = text.count("RuntimeWarning")
        if a.keep_logs:  # the daemon's phase lines (not its one line per kernel op)
            row["log"] = [ln for ln in text.splitlines() if any(m in ln for m in PHASES)][-60:]
        k.clear()


def plane(n: int, runs: int) -> dict:
    """The plane in this process (the code under PYK_SRC): start (desired state, dump, N x 21 adds),
    then a one-weight reload, with the backend's dump and apply timed apart; a full dump alone."""
    import tempfile

    from pykeepalived.config.loader import loads_config
    from pykeepalived.core.snapshot import Decoder
    from pykeepalived.lb.ipvs import IpvsBackend
    from pykeepalived.lb.plane import LoadBalancer

    configs = []
    child = Decoder()  # as a child gets them: unchanged blocks handed over as the same objects
    for bump in (0, 1, 2):
        cfg, diags = loads_config(config(n, bump=bump))
        assert not diags.errors, [str(e) for e in diags.errors[:3]]
        configs.append(child.decode(Decoder().encode(cfg)))
    backend = IpvsBackend()
    times: dict[str, list[float]] = {"dump": [], "apply": [], "reload": []}
    real = (backend.dump, backend.apply)

    with tempfile.TemporaryDirectory() as d:
        lb = LoadBalancer(configs[0], backend, d)
        t = time.perf_counter()
        r = lb.start()
        out = {"n": n, "start": time.perf_counter() - t, "start_ops": len(r.ops), "start_errors": len(r.errors)}
        t = time.perf_counter()
        table = backend.dump(counts=False)
        out["full_dump"] = time.perf_counter() - t
        out["dests"] = sum(len(s.dests) for s in table.values())
        backend.dump, backend.apply = timed(times["dump"], real[0]), timed(times["apply"], real[1])
        for i in range(runs):
            t = time.perf_counter()
            r = lb.reload(configs[1 + i % 2])
            times["reload"].append(time.perf_counter() - t)
            assert not r.errors and len(r.ops) == 1, (r.errors[:3], [str(o) for o in r.ops[:3]])
        backend.dump, backend.apply = real
        t = time.perf_counter()
        lb.stop()
        out["stop"] = time.perf_counter() - t
        lb.close()
    return out | {k: statistics.median(v) for k, v in times.items()}


def guest(a: argparse.Namespace) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    sh("modprobe", "ip_vs")
    sh("modprobe", "ip_vs_wrr")
    topology()
    echo = subprocess.Popen(["ip", "netns", "exec", "rs", sys.executable, "-c", ECHO])
    k = Kernel()
    rows = []
    out = Path(os.environ["HAPAIR_SHARE"]) / "reload-ipvs.json"
    try:
        for n in a.plane:
            for label, src in (("before", a.plane_old), ("after", "")):
                if label == "before" and (not src or n > a.plane_old_max):
                    continue
                env = dict(os.environ, PYK_SRC=src) if src else os.environ
                res = subprocess.run([sys.executable, __file__, "--plane-one", str(n), "--runs", str(max(a.runs))]
                                     + (["--profile"] if a.profile else []),
                                     capture_output=True, text=True, check=False, env=env)
                got = json.loads(res.stdout.strip().splitlines()[-1]) if res.returncode == 0 else \
                    {"n": n, "error": res.stderr[-1500:]}
                rows.append(got | {"code": label})
                print("PLANE", json.dumps(rows[-1]), flush=True)
                out.write_text(json.dumps(rows))
        for j, n in enumerate(a.sizes):
            for daemon in (a.daemons if j % 2 == 0 else a.daemons[::-1]):
                row = measure(daemon, n, a.runs[min(j, len(a.runs) - 1)], a, k)
                rows.append(row)
                print("ROW", json.dumps({k: v for k, v in row.items() if k != "log"}), flush=True)
                out.write_text(json.dumps(rows))
    finally:
        echo.kill()
        echo.wait()


def table(rows: list[dict]) -> str:
    lines = ["| N x 20 | daemon | up s | settled s | first (a) | (a) unchanged | (b) weight | (c) +1 real "
             "| (d) +1 virtual | untouched |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    planes = [r for r in rows if "code" in r]
    rows = [r for r in rows if "code" not in r]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['n']:,} | {r['daemon']} | {r['error'][:60]} | | | | | | | |")
            continue
        first = r["a"][0] if r["a"] and r["a"][0] is not None else None
        lines.append(f"| {r['n']:,} | {r['daemon']} | {r['up_s']:.2f} | {r['settled_s']:.2f} | "
                     f"{'-' if first is None else f'{first:.2f}'} | "
                     + " | ".join(median_text(r[c]) for c in "abcd")
                     + f" | {r['untouched']}/{r['tries']} |")
    if planes:
        lines += ["", "| N x 20 | lb/ipvs.py | start s (N x 21 adds) | full dump s | reload (b) s | its dump s | "
                  "its apply s | stop s (N dels) |", "|---:|---|---:|---:|---:|---:|---:|---:|"]
        for p in planes:
            if "error" in p:
                lines.append(f"| {p['n']:,} | {p['code']} | failed: {p['error'][-80:]!r} | | | | | |")
                continue
            lines.append(f"| {p['n']:,} | {p['code']} | {p['start']:.2f} | {p['full_dump']:.2f} | {p['reload']:.2f} | "
                         f"{p['dump']:.2f} | {p['apply']:.3f} | {p['stop']:.2f} |")
    return "\n".join(lines)


def host(a: argparse.Namespace) -> int:
    from lab.uml import run_in_uml

    argv = [sys.executable, __file__, "--guest", "--runs", *map(str, a.runs), "--up-timeout", str(a.up_timeout),
            "--plane", *map(str, a.plane), "--plane-old", a.plane_old, "--plane-old-max", str(a.plane_old_max),
            *(["--profile"] if a.profile else []), "--wait", str(a.wait), "--sizes", *map(str, a.sizes),
            "--daemons", *a.daemons, *(["--profile-daemon"] if a.profile_daemon else []),
            *(["--keep-logs"] if a.keep_logs else [])]
    load0 = os.getloadavg()[0]
    env = {"PYTHONPATH": a.daemon_src} if a.daemon_src else None  # the guest's processes, the daemons too
    r = run_in_uml(argv, name=f"{a.lab_name}-{os.getpid() % 100000}", mem=a.mem, timeout=a.timeout,
                   stream=a.verbose, env=env)
    rows = json.loads(r.files.get("reload-ipvs.json", "[]"))
    print(f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, one UML guest (1 CPU), N wrr NAT virtual "
          f"servers x 20, no checkers; s, median of {'/'.join(map(str, a.runs))} run(s) by size; host load "
          f"average {load0:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end\n")
    print(table(rows))
    print(f"\nRuntimeWarnings in the daemons' logs: {sum(r.get('warnings', 0) for r in rows)}")
    for row in rows:
        if row.get("log"):
            print(f"\n--- {row['daemon']} {row['n']}:\n" + "\n".join(row["log"]))
    for name, text in sorted(r.files.items()):
        if name.startswith("profile-"):
            print(f"\n--- {name}\n{text}")
    if r.returncode != 0 or not rows:
        print(f"\nguest rc {r.returncode}:\n{r.output[-3000:]}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 2000])
    ap.add_argument("--runs", type=int, nargs="+", default=[3], help="per size (the last one for the rest)")
    ap.add_argument("--up-timeout", type=float, default=300.0)
    ap.add_argument("--wait", type=float, default=120.0, help="s to wait for each reload")
    ap.add_argument("--timeout", type=float, default=3600.0, help="s for the whole guest run")
    ap.add_argument("--mem", default="1536M")
    ap.add_argument("--daemon-src", default="", help="a daemon/src tree (git archive) the guest runs instead")
    ap.add_argument("--lab-name", default="ipvsuml-reload", help="the UML lab's name (a pid is appended)")
    ap.add_argument("--daemons", nargs="+", choices=DAEMONS, default=list(DAEMONS))
    ap.add_argument("--keep-logs", action="store_true", help="print the tail of each daemon's log")
    ap.add_argument("--verbose", action="store_true", help="stream the guest console")
    ap.add_argument("--plane", type=int, nargs="*", default=[], help="also time the plane in process at these N")
    ap.add_argument("--plane-old", default="", help="a daemon/src tree (git archive) to time beside this one")
    ap.add_argument("--profile", action="store_true", help="--plane under cProfile (printed; times then include it)")
    ap.add_argument("--profile-daemon", action="store_true",
                    help="our daemon under cProfile (start and reloads; its top functions printed)")
    ap.add_argument("--plane-old-max", type=int, default=100, help="time the older tree up to this N only")
    ap.add_argument("--plane-one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--guest", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.plane_one:
        if not a.profile:
            print(json.dumps(plane(a.plane_one, a.runs[0])))
            return 0
        import cProfile
        import io
        import pstats

        prof = cProfile.Profile()
        got = prof.runcall(plane, a.plane_one, a.runs[0])
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(40)
        code = "before" if os.environ.get("PYK_SRC") else "after"
        (Path(os.environ["HAPAIR_SHARE"]) / f"profile-plane-{a.plane_one}-{code}.log").write_text(text.getvalue())
        print(json.dumps(got))
        return 0
    if a.guest:
        guest(a)
        return 0
    return host(a)


if __name__ == "__main__":
    sys.exit(main())
