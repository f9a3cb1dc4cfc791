"""Health checkers side by side: pykeepalived -C and keepalived 2.2.7 -C in one UML guest.

    .venv/bin/python bench/checkers.py --compare keepalived [--sizes 1000 5000 10000]
        [--http-sizes 1000] [--seconds 20] [--warmup 10] [--runs 1]

keepalived's checker needs IPVS, so everything runs in one user-mode-linux
guest (one CPU, an emulated kernel: far slower per syscall than the host).
N real servers are N addresses of 10.200.0.0/16 on the guest's ``lo`` (all
local), each checked by TCP_CHECK (port 8000) or HTTP_GET (port 8080) at
delay_loop 1 s, 100 real servers per virtual server (NAT, rr).  One listener
process accepts on 0.0.0.0 for all of them (TCP: accept and close; HTTP: an
asyncio server answering 200).  The two daemons run one at a time, the whole
daemon as it ships (parent and checker child), from the same config text;
order alternates between runs.

For each: start, wait until IPVS holds all N destinations and the listener
has seen a first check (a daemon may still be busy starting after its table
is written), then N checks (a first round, whose results cost more), wait
``--warmup`` s, then over ``--seconds``:

- CPU: utime+stime (+ reaped children) from /proc/PID/stat of every process
  of the daemon, per 1,000 checks and as % of the guest's one CPU; the guest's
  idle share (/proc/stat) and what the listener and the capture used;
- checks and lateness: from the SYNs to the real servers captured by tcpdump
  (kernel timestamps, bench/syn_timing.py), the same for both daemons;
- false downs: destinations missing from IPVS after the window;
- with ``--strace S``, after the window: the daemon's syscalls per check,
  counted by ``strace -c -f`` over S seconds (slowed by the tracing, so
  never inside the CPU window), checks counted by the listener meanwhile;
- the guest's own stalls: a probe process that sleeps 10 ms in a loop logs
  each wake-up later than 2 ms; over the window its worst and its sum say
  how late *any* timer in the guest was (the host not running the guest, or
  the guest's one CPU busy), whatever the daemon does.

With ``--guest`` (internal) it runs inside the guest.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from syn_timing import lateness, read_syns  # noqa: E402

KEEPALIVED = "/usr/sbin/keepalived"
PYKEEPALIVED = str(Path(sys.executable).with_name("pykeepalived"))
DAEMONS = ("keepalived", "pykeepalived")
PORTS = {"TCP_CHECK": 8000, "HTTP_GET": 8080}
NET = "10.200.0.0/16"
PER_VS = 100
DELAY_LOOP = 1.0
WORK = Path("/run/ck")  # the guest's tmpfs
TICK = os.sysconf("SC_CLK_TCK")
PROFILED = """import cProfile, io, pstats, sys
from pykeepalived.cli import main
prof = cProfile.Profile()
try:
    prof.runcall(main, sys.argv[2:])
finally:
    out = io.StringIO()
    for key in ("tottime", "cumulative"):
        pstats.Stats(prof, stream=out).sort_stats(key).print_stats(45)
    open(sys.argv[1], "w").write(out.getvalue())
"""
HTTP_RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"


def rs_address(i: int) -> str:
    return f"10.200.{(i + 1) >> 8}.{(i + 1) & 255}"


def config(n: int, kind: str) -> str:
    """N real servers, PER_VS per virtual server; text both daemons accept."""
    port = PORTS[kind]
    if kind == "TCP_CHECK":
        check = "        TCP_CHECK {\n            connect_timeout 3\n        }\n"
    else:
        check = ("        HTTP_GET {\n            url {\n                path /\n                status_code 200\n"
                 "            }\n            connect_timeout 3\n        }\n")
    out = ["global_defs {\n    router_id checkbench\n}\n"]
    for v in range((n + PER_VS - 1) // PER_VS):
        out.append(f"virtual_server 10.201.{v // 250}.{v % 250 + 1} 80 {{\n")  # never connected to
        out.append(f"    delay_loop {DELAY_LOOP:g}\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n")
        for i in range(v * PER_VS, min(n, (v + 1) * PER_VS)):
            out.append(f"    real_server {rs_address(i)} {port} {{\n        weight 1\n{check}    }}\n")
        out.append("}\n")
    return "".join(out)


# --- the listeners (separate processes in the guest) ------------------------------------------

ACCEPTS = WORK / "accepts"  # the listener's running count of connections, rewritten twice a second
PROBE = WORK / "probe"  # the probe's late wake-ups: "wall-clock time, seconds late" per line
PROBE_PERIOD, PROBE_FLOOR = 0.01, 0.002


def count_accepts(counter: list[int]) -> None:
    """A thread of the listener: publish counter[0] to ACCEPTS every 0.5 s."""
    import threading

    def publish() -> None:
        while True:
            tmp = ACCEPTS.with_suffix(".tmp")
            tmp.write_text(str(counter[0]))
            tmp.replace(ACCEPTS)
            time.sleep(0.5)

    threading.Thread(target=publish, daemon=True).start()


def accepts() -> int:
    try:
        return int(ACCEPTS.read_text())
    except (OSError, ValueError):
        return 0


def listen_tcp(port: int) -> None:
    """Accept and close, blocking: the cheapest real server Python can be."""
    import socket

    counter = [0]
    count_accepts(counter)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(65535)
    print("ready", flush=True)
    while True:
        conn, _ = s.accept()
        conn.close()
        counter[0] += 1


def listen_http(port: int) -> None:
    import asyncio

    counter = [0]
    count_accepts(counter)

    class Http(asyncio.Protocol):
        def connection_made(self, transport) -> None:
            self.transport, self.buf = transport, b""
            counter[0] += 1

        def data_received(self, data: bytes) -> None:
            self.buf += data
            if b"\r\n\r\n" in self.buf:
                self.transport.write(HTTP_RESPONSE)
                self.transport.close()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Http, "0.0.0.0", port, backlog=65535,
                                                                reuse_address=True)
        print("ready", flush=True)
        await server.serve_forever()

    asyncio.run(main())


def probe() -> None:
    """Sleep PROBE_PERIOD in a loop; log each wake-up later than PROBE_FLOOR (wall clock, as the capture)."""
    with open(PROBE, "a", buffering=1) as out:
        while True:
            t = time.time()
            time.sleep(PROBE_PERIOD)
            late = time.time() - t - PROBE_PERIOD
            if late > PROBE_FLOOR:
                out.write(f"{t + PROBE_PERIOD:.6f} {late:.6f}\n")


def count_syscalls(pids: set[int], seconds: float, path: Path) -> dict:
    """strace -c of ``pids`` for ``seconds``: syscalls per check, by name (checks: the listener's count)."""
    argv = ["strace", "-c", "-f", "-o", str(path)]
    for pid in sorted(pids):
        argv += ["-p", str(pid)]
    tracer = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    time.sleep(1)  # attached
    before = accepts()
    time.sleep(seconds)
    checks = accepts() - before
    tracer.send_signal(signal.SIGINT)
    tracer.wait(60)
    calls = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[3].isdigit() and parts[-1] != "total":
            calls[parts[-1]] = int(parts[3])
    return {"strace_checks": checks,
            "syscalls_per_check": {k: round(v / checks, 2) for k, v in sorted(calls.items(), key=lambda kv: -kv[1])}
            if checks else {}}


def stalls(start: float, end: float) -> dict:
    """The probe's late wake-ups in [start, end): the worst, how many > 100 ms, their sum as a share."""
    late = []
    for line in PROBE.read_text().splitlines():
        ts, value = (float(x) for x in line.split())
        if start <= ts < end:
            late.append(value)
    return {"stall_max": max(late, default=0.0), "stalls_gt_100ms": sum(1 for v in late if v > 0.1),
            "stall_share": sum(late) / (end - start)}


# --- measuring inside the guest --------------------------------------------------------------

def sh(*argv: str, check: bool = True) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=check).stdout


def tree(root: int) -> set[int]:
    """root and all its descendants, from /proc."""
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    parent[int(name)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    out, todo = {root}, [root]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p and c not in out]
        out.update(kids)
        todo.extend(kids)
    return out


def ticks(pids: set[int]) -> dict[int, int]:
    """utime+stime+cutime+cstime of each pid still alive."""
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = sum(int(x) for x in fields[11:15])
    return out


def cpu_seconds(before: dict[int, int], after: dict[int, int]) -> float:
    return sum(after[p] - before.get(p, 0) for p in after) / TICK


def guest_cpu() -> tuple[int, int]:
    """(idle+iowait, total) jiffies of the guest."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    return vals[3] + vals[4], sum(vals[:8])


def ipvs_dests() -> int:
    return sum(1 for line in sh("ipvsadm", "-Ln").splitlines() if line.startswith("  -> ") and ":" in line
               and "RemoteAddress" not in line)


def start_daemon(daemon: str, conf: Path, run: Path, log: Path, profile: Path | None = None) -> subprocess.Popen:
    """The daemon; ``profile``: pykeepalived under cProfile, its top functions written there at exit."""
    run.mkdir(parents=True, exist_ok=True)
    if daemon == "keepalived":
        # -G: no syslog; there is no /dev/log in the guest and syslog(3) would fall back to writing
        # every line to /dev/console, the slow UML console (10,000 "success" lines at the first round)
        argv = [KEEPALIVED, "-C", "-n", "-l", "-G", "-f", str(conf), "-p", str(run / "keepalived.pid"),
                "-c", str(run / "checkers.pid")]
    else:
        args = ["-C", "-n", "-l", "-f", str(conf), "--runtime-dir", str(run)]
        argv = [PYKEEPALIVED, *args] if profile is None else [sys.executable, "-c", PROFILED, str(profile), *args]
    with open(log, "w") as out:  # the daemon keeps its own descriptor
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen, timeout: float = 60) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start_capture(port: int, path: Path) -> subprocess.Popen:
    cap = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-s", "96", "-B", "65536", "-w", str(path),
                            f"tcp dst port {port} and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = cap.stderr.readline()  # "listening on lo, ..." once the filter is attached
    if "listening" not in line:
        raise RuntimeError(f"tcpdump: {line}{cap.stderr.read()}")
    return cap


def stop_capture(cap: subprocess.Popen) -> int:
    """SIGINT (tcpdump flushes); packets the kernel dropped."""
    cap.send_signal(signal.SIGINT)
    err = cap.communicate(timeout=60)[1]
    for line in err.splitlines():
        if "dropped by kernel" in line:
            return int(line.split()[0])
    return -1


def measure(daemon: str, kind: str, n: int, a: argparse.Namespace, listener: subprocess.Popen) -> dict:
    tag = f"{daemon}-{kind}-{n}"
    conf, log = WORK / f"{tag}.conf", WORK / f"{tag}.log"
    conf.write_text(config(n, kind))
    row: dict = {"daemon": daemon, "kind": kind, "n": n}
    t_start = time.monotonic()
    profile = Path(os.environ["HAPAIR_SHARE"]) / f"profile-{tag}.txt" if a.profile and daemon == "pykeepalived" else None
    proc = start_daemon(daemon, conf, WORK / f"run-{tag}", log, profile)
    cap = None
    try:
        while ipvs_dests() < n:
            if proc.poll() is not None or time.monotonic() - t_start > a.up_timeout:
                row["error"] = f"not up ({ipvs_dests()}/{n} dests): " + log.read_text(errors="replace")[-1500:]
                return row
            time.sleep(1)
        row["up_s"] = time.monotonic() - t_start
        before = accepts()  # the daemon may still be busy starting (a first reconcile): wait for its checks
        while accepts() <= before:
            if proc.poll() is not None or time.monotonic() - t_start > a.up_timeout:
                row["error"] = "no check reached a real server: " + log.read_text(errors="replace")[-1500:]
                return row
            time.sleep(0.5)
        row["checking_s"] = time.monotonic() - t_start
        while accepts() < before + n:  # a first round done: its first results cost more (announcements, logs)
            if proc.poll() is not None or time.monotonic() - t_start > a.up_timeout:
                row["error"] = f"no full round ({accepts() - before}/{n} checks): " + \
                    log.read_text(errors="replace")[-1500:]
                return row
            time.sleep(0.5)
        row["round_s"] = time.monotonic() - t_start
        time.sleep(a.warmup)
        pcap = WORK / f"{tag}.pcap"
        cap = start_capture(PORTS[kind], pcap)
        pids = tree(proc.pid)
        helpers = {listener.pid, cap.pid}
        d0, h0, g0, t0 = ticks(pids), ticks(helpers), guest_cpu(), time.time()
        time.sleep(a.seconds)
        pids |= tree(proc.pid)
        d1, h1, g1, t1 = ticks(pids), ticks(helpers), guest_cpu(), time.time()
        row["dests_after"] = ipvs_dests()
        row["dropped"] = stop_capture(cap)
        cap = None
        row.update(lateness(read_syns(pcap), n, DELAY_LOOP, t0, t1))
        row.update(stalls(t0, t1))
        pcap.unlink()
        if a.strace:
            row.update(count_syscalls(tree(proc.pid), a.strace, WORK / f"{tag}.strace"))
        wall = t1 - t0
        used = cpu_seconds(d0, d1)
        row.update(seconds=wall, processes=len(d1), cpu_s=used, core=used / wall,
                   cpu_per_1k_ms=used / row["checks"] * 1e6 if row["checks"] else None,
                   helpers_core=cpu_seconds(h0, h1) / wall,
                   guest_idle=(g1[0] - g0[0]) / max(1, g1[1] - g0[1]),
                   rate=row["checks"] / wall, false_down=n - row["dests_after"])
        return row
    finally:
        if cap is not None:
            stop_capture(cap)
        stop(proc)
        sh("ipvsadm", "-C", check=False)
        if "error" in row or row.get("checks", 0) < n:  # something to look at
            row["log_tail"] = log.read_text(errors="replace")[-1500:]


def guest(a: argparse.Namespace) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))  # inherited by listeners and daemons
    for key, value in (("net.core.somaxconn", "65535"), ("net.ipv4.tcp_max_syn_backlog", "65535"),
                       ("net.ipv4.ip_local_port_range", "10000 65000"), ("net.ipv4.tcp_tw_reuse", "1")):
        sh("sysctl", "-qw", f"{key}={value}")  # the guest's own kernel
    sh("ip", "addr", "add", NET.replace("0.0/", "0.1/"), "dev", "lo")
    sh("modprobe", "ip_vs")
    rows = []
    out = Path(os.environ["HAPAIR_SHARE"]) / "checkers.json"
    subprocess.Popen([sys.executable, __file__, "--probe"])  # ends with the guest
    for kind, sizes in (("TCP_CHECK", a.sizes), ("HTTP_GET", a.http_sizes)):
        if not sizes:
            continue
        serve = "--listen-tcp" if kind == "TCP_CHECK" else "--listen-http"
        listener = subprocess.Popen([sys.executable, __file__, serve, str(PORTS[kind])], stdout=subprocess.PIPE,
                                    text=True)
        try:
            assert listener.stdout.readline().strip() == "ready"
            for n in sizes:
                for r in range(a.runs):
                    for daemon in (a.daemons if r % 2 == 0 else a.daemons[::-1]):
                        row = measure(daemon, kind, n, a, listener)
                        row["run"] = r
                        rows.append(row)
                        print("ROW", json.dumps({k: v for k, v in row.items() if k != "log_tail"}), flush=True)
                        out.write_text(json.dumps(rows))
        finally:
            listener.terminate()
            listener.wait(10)


# --- the host side --------------------------------------------------------------------------

def median(rows: list[dict], key: str) -> float | None:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def table(rows: list[dict]) -> str:
    lines = ["| checker | real servers | daemon | checks/s | CPU ms per 1k checks | core % | ours / keepalived | "
             "late p50 ms | late p99 ms | late max ms | late > 1 interval | share late > 1 interval | false down | "
             "guest idle % | listener+capture core % | guest stall max ms | guest stalls > 100 ms |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    groups: dict[tuple, dict[str, list[dict]]] = {}
    for r in rows:
        groups.setdefault((r["kind"], r["n"]), {}).setdefault(r["daemon"], []).append(r)
    for (kind, n), by in groups.items():
        ka = median(by.get("keepalived", []), "cpu_per_1k_ms")
        for daemon in DAEMONS:
            rs = [r for r in by.get(daemon, []) if "error" not in r]
            if daemon not in by:  # not run (--daemons)
                continue
            if not rs:
                errs = [r.get("error", "no run")[:80] for r in by.get(daemon, [])]
                lines.append(f"| {kind} | {n:,} | {daemon} | failed: {'; '.join(errs)} |" + " |" * 13)
                continue
            rs = [r for r in rs if r.get("cpu_per_1k_ms") is not None] or rs
            for r in rs:  # gaps: one per pair of consecutive checks of a real server, plus the window's edges
                r["late_share"] = r["late_gt_interval"] / r["gaps"] if r.get("gaps") else None
            m = {k: median(rs, k) or 0.0 for k in ("rate", "cpu_per_1k_ms", "core", "late_p50", "late_p99", "late_max",
                                            "late_gt_interval", "late_share", "false_down", "guest_idle", "helpers_core",
                                            "stall_max", "stalls_gt_100ms")}
            ratio = f"{m['cpu_per_1k_ms'] / ka:.2f}" if daemon == "pykeepalived" and ka else ""
            lines.append(f"| {kind} | {n:,} | {daemon} | {m['rate']:.0f} | {m['cpu_per_1k_ms']:.1f} | "
                         f"{m['core'] * 100:.0f} | {ratio} | {m['late_p50'] * 1000:.1f} | {m['late_p99'] * 1000:.1f} | "
                         f"{m['late_max'] * 1000:.0f} | {m['late_gt_interval']:.0f} | {m['late_share'] * 100:.0f} % | "
                         f"{m['false_down']:.0f} | "
                         f"{m['guest_idle'] * 100:.0f} | {m['helpers_core'] * 100:.0f} | "
                         + (f"{m['stall_max'] * 1000:.0f} | {m['stalls_gt_100ms']:.0f} |" if any("stall_max" in r for r in rs)
                            else "| |"))
    return "\n".join(lines)


def pairs(rows: list[dict]) -> str:
    """Each run's own ratio (both daemons in the same guest, one after the other) and their median."""
    by: dict[tuple, dict[str, float]] = {}
    for r in rows:
        if r.get("cpu_per_1k_ms"):
            by.setdefault((r["kind"], r["n"]), {}).setdefault(r.get("run", 0), {})[r["daemon"]] = r["cpu_per_1k_ms"]
    lines = []
    for (kind, n), runs in by.items():
        done = [(v["keepalived"], v["pykeepalived"]) for _, v in sorted(runs.items()) if len(v) == 2]
        if done:
            ratios = [ours / ka for ka, ours in done]
            lines.append(f"{kind} {n:,}: " + ", ".join(f"{ka:.0f} / {ours:.0f} ({ours / ka:.2f})" for ka, ours in done)
                         + f"; median ratio {statistics.median(ratios):.2f}")
    return "same-run pairs, CPU ms per 1k checks, keepalived / ours (ratio):\n" + "\n".join(lines)


def syscalls(rows: list[dict]) -> str:
    """Syscalls per check of each traced run (strace -c after the window), per connect(2): one per check
    started, where the listener's count lags by up to its 0.5 s publishing period."""
    out = []
    for r in rows:
        per = r.get("syscalls_per_check")
        if per and per.get("connect"):
            per = {k: v / per["connect"] for k, v in per.items()}
            out.append(f"{r['kind']} {r['n']:,} {r['daemon']} (run {r.get('run', 0)}, {r['strace_checks']} checks): "
                       f"{sum(per.values()):.1f} syscalls per connect: "
                       + ", ".join(f"{k} {v:.2f}" for k, v in per.items() if v >= 0.05))
    return "\n".join(out)


def host(a: argparse.Namespace) -> int:
    from lab.uml import run_in_uml

    argv = [sys.executable, __file__, "--guest", "--seconds", str(a.seconds), "--warmup", str(a.warmup),
            "--runs", str(a.runs), "--up-timeout", str(a.up_timeout), "--strace", str(a.strace),
            "--sizes", *map(str, a.sizes), "--http-sizes", *map(str, a.http_sizes),
            "--daemons", *a.daemons] + (["--profile"] if a.profile else [])
    per_run = a.up_timeout / 3 + a.warmup + a.seconds + 30 + (a.strace + 5 if a.strace else 0)
    budget = 120 + per_run * 2 * a.runs * (len(a.sizes) + len(a.http_sizes))
    if a.table_from:  # re-print a table from the ROW lines of an earlier run's console
        rows = [json.loads(line.split(" ", 1)[1]) for line in Path(a.table_from).read_text().splitlines()
                if line.startswith("ROW ")]
        print(table(rows))
        print(pairs(rows))
        print(syscalls(rows))
        return 0
    r = run_in_uml(argv, name=a.lab or f"checkbench-{os.getpid() % 100000}", mem=a.mem, timeout=budget,
                   stream=a.verbose)
    rows = json.loads(r.files.get("checkers.json", "[]"))
    print(f"\n{time.strftime('%Y-%m-%d')}, one UML guest (1 CPU), delay_loop 1 s, {a.seconds:g} s measured after "
          f"{a.warmup:g} s warm-up, median of {a.runs} run(s); load average of the host at the end: "
          f"{os.getloadavg()[0]:.1f}\n")
    print(table(rows))
    print(pairs(rows))
    print(syscalls(rows))
    for name, text in sorted(r.files.items()):
        if name.startswith("profile-"):
            print(f"\n{name}:\n{text}")
    if r.returncode != 0 or not rows:
        print(f"\nguest rc {r.returncode}:\n{r.output[-3000:]}", file=sys.stderr)
        return 1
    for row in rows:
        if row.get("dropped", 0) or row.get("retransmits", 0) or row.get("silent", 0):
            print(f"note: {row['daemon']} {row['kind']} {row['n']}: capture dropped {row.get('dropped')}, "
                  f"SYN retransmits {row.get('retransmits')}, real servers never checked {row.get('silent')}")
        if row.get("log_tail") and (row.get("silent") or "error" in row):
            print(f"  its log ends:\n{row['log_tail']}")
    return 0


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 5000, 10000])
    ap.add_argument("--http-sizes", type=int, nargs="*", default=[1000])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--up-timeout", type=float, default=300.0)
    ap.add_argument("--mem", default="1536M")
    ap.add_argument("--daemons", nargs="+", choices=DAEMONS, default=list(DAEMONS))
    ap.add_argument("--strace", type=float, default=0.0, help="after each window, count the daemon's syscalls "
                    "per check with strace -c for this many seconds")
    ap.add_argument("--profile", action="store_true", help="pykeepalived under cProfile (its top functions are "
                    "printed; CPU figures then include the profiler)")
    ap.add_argument("--table-from", help="print the table of the ROW lines in this file (a --verbose console)")
    ap.add_argument("--verbose", action="store_true", help="stream the guest console")
    ap.add_argument("--lab", help="the guest's lab name (default checkbench-PID)")
    ap.add_argument("--guest", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--listen-tcp", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--listen-http", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    if a.listen_tcp:
        listen_tcp(a.listen_tcp)
    elif a.listen_http:
        listen_http(a.listen_http)
    elif a.probe:
        probe()
    elif a.guest:
        guest(a)
    else:
        return host(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
