#!/usr/bin/env python3
"""Reload at scale on the nftables plane, measured as a new user would.

For N x 20 (N virtual servers of 20 real servers each, wrr, no checkers) the
real daemon (``pykeepalived -n``, supervisor and children) runs in a private
network namespace of its own (``unshare --net``: nothing leaves it, the
addresses are never contacted). The bench times how long the table takes to
appear, then changes one real server's weight in the file and times
``pykeepalivedctl reload`` (wall time of the command, which returns when the
children have reloaded) until the kernel shows the new weight. A second,
in-process part times the plane's reconcile for the same change
(``LoadBalancer.reload``: desired-state build + diff + nft transaction).

    .venv/bin/python bench/reload_scale.py [--sizes 100,200,500,1000,2000] [--runs 3] [--up-timeout 90]
                                           [--reconcile-max N]

Needs root (unshare, nft). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
INNER = "PYK_RELOAD_SCALE_INNER"


def config(n_vs: int, n_rs: int, bump: int = 0) -> str:
    """N wrr virtual servers x n_rs real servers without checkers; ``bump`` changes one weight."""
    vbase = int(ipaddress.IPv4Address("10.1.0.0"))
    rbase = int(ipaddress.IPv4Address("10.128.0.0"))
    out = ["global_defs {\n    lb_backend nftables\n}\n"]
    for v in range(n_vs):
        out.append(f"virtual_server {ipaddress.IPv4Address(vbase + v)} 80 {{\n    lb_algo wrr\n    lb_kind NAT\n"
                   "    protocol TCP\n")
        for r in range(n_rs):
            w = 1 + r % 5 + (bump if v == n_vs // 2 and r == 0 else 0)
            out.append(f"    real_server {ipaddress.IPv4Address(rbase + v * n_rs + r)} 8080 {{\n"
                       f"        weight {w}\n    }}\n")
        out.append("}\n")
    return "".join(out)


def nft(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["nft", *args], capture_output=True, text=True, check=False)


def services_in_kernel() -> int:
    r = nft("list", "table", "inet", "pykeepalived")
    return r.stdout.count('comment "pyk ') if r.returncode == 0 else 0


def weight_in_kernel(n_vs: int, n_rs: int) -> int | None:
    """The watched real server's weight as the kernel holds it (its service's w_ map)."""
    vip = ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.1.0.0")) + n_vs // 2)
    rip = ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.128.0.0")) + (n_vs // 2) * n_rs)
    name = "w_tcp_" + str(vip).replace(".", "_") + "_80"
    r = nft("get", "element", "inet", "pykeepalived", name, f"{{ {rip} . 8080 }}")
    if r.returncode != 0:
        return None
    m = re.search(re.escape(f"{rip} . 8080 : ") + r"(0x[0-9a-f]+|\d+)", r.stdout)
    return int(m.group(1), 0) if m else None


def daemon_case(n_vs: int, n_rs: int, runs: int, up_timeout: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"reload-scale-{n_vs}-"))
    conf = tmp / "keepalived.conf"
    conf.write_text(config(n_vs, n_rs))
    run = tmp / "run"
    log = open(tmp / "daemon.log", "w")  # noqa: SIM115 (closed below)
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "pykeepalived"), "-n", "-l", "-f", str(conf), "--runtime-dir", str(run)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    out: dict = {"n": n_vs, "up_s": None, "reload_s": [], "reload_ok": 0, "warnings": 0}
    try:
        while time.perf_counter() - t0 < up_timeout:
            if services_in_kernel() >= n_vs:
                out["up_s"] = time.perf_counter() - t0
                break
            time.sleep(0.2)
        if out["up_s"] is None:
            return out
        time.sleep(1.0)  # let the children settle (status, metrics) before timing reloads
        for i in range(runs):
            bump = 1 + i % 2  # 1, 2, 1: the weight changes every run
            conf.write_text(config(n_vs, n_rs, bump))
            want = 1 + bump
            t = time.perf_counter()
            r = subprocess.run([str(BIN / "pykeepalivedctl"), "reload", "--runtime-dir", str(run)],
                               capture_output=True, text=True, check=False)
            wall = time.perf_counter() - t
            while weight_in_kernel(n_vs, n_rs) != want and time.perf_counter() - t < 60:
                time.sleep(0.05)
            seen = time.perf_counter() - t
            out["reload_s"].append((wall, seen, r.returncode))
            out["reload_ok"] += r.returncode == 0 and weight_in_kernel(n_vs, n_rs) == want
        return out
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        text = (tmp / "daemon.log").read_text(errors="replace")
        out["warnings"] = text.count("RuntimeWarning")
        out["stall_kills"] = text.count("stalled") + text.count("not answering")
        nft("delete", "table", "inet", "pykeepalived")
        shutil.rmtree(tmp, ignore_errors=True)


def reconcile_case(n_vs: int, n_rs: int, runs: int) -> dict:
    """The plane in this process: start, then a one-weight reload, phase by phase."""
    from pykeepalived.config.loader import loads_config
    from pykeepalived.lb import plane as plane_mod
    from pykeepalived.lb.nftables import NftBackend
    from pykeepalived.lb.plane import LoadBalancer

    configs = []
    for bump in (0, 1, 2):
        cfg, diags = loads_config(config(n_vs, n_rs, bump))
        assert not diags.errors, [str(e) for e in diags.errors[:3]]
        configs.append(cfg)
    backend = NftBackend()
    with tempfile.TemporaryDirectory() as d:
        lb = LoadBalancer(configs[0], backend, d)
        t = time.perf_counter()
        r = lb.start()
        first = time.perf_counter() - t
        assert not r.errors, r.errors[:3]
        phases: dict[str, list[float]] = {"compute": [], "dump": [], "apply": [], "total": []}
        real = (plane_mod.compute, backend.dump, backend.apply)

        def timed(name, fn):
            def wrapper(*a, **k):
                t0 = time.perf_counter()
                try:
                    return fn(*a, **k)
                finally:
                    phases[name].append(time.perf_counter() - t0)
            return wrapper

        plane_mod.compute = timed("compute", real[0])
        backend.dump = timed("dump", real[1])
        backend.apply = timed("apply", real[2])
        try:
            for i in range(runs):
                t = time.perf_counter()
                r = lb.reload(configs[1 + i % 2])
                phases["total"].append(time.perf_counter() - t)
                assert not r.errors and len(r.ops) == 1, (r.errors[:3], [str(o) for o in r.ops[:3]])
        finally:
            plane_mod.compute, backend.dump, backend.apply = real
        lb.stop()
    med = {k: statistics.median(v) for k, v in phases.items()}
    med["first"] = first
    return med


def inner(a: argparse.Namespace) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    sizes = [int(s) for s in a.sizes.split(",")]
    rows = []
    print(f"\nnftables plane, N virtual servers x {a.rs} real servers (wrr, no checkers), one weight changed; "
          f"median of {a.runs}\n")
    print("| N x 20 | daemon up s | ctl reload wall s | reload -> kernel s | reloads ok | "
          "reconcile ms | compute ms | dump ms | apply ms | first apply ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for n in sizes:
        d = daemon_case(n, a.rs, a.runs, a.up_timeout)
        rec = reconcile_case(n, a.rs, a.runs) if n <= a.reconcile_max else None
        rows.append((d, rec))
        if d["up_s"] is None:
            up = f"not up in {a.up_timeout:g} s"
            wall = seen = "-"
        else:
            up = f"{d['up_s']:.2f}"
            wall = f"{statistics.median(w for w, _, _ in d['reload_s']):.2f}"
            seen = f"{statistics.median(s for _, s, _ in d['reload_s']):.2f}"
        ok = f"{d['reload_ok']}/{len(d['reload_s'])}" if d["up_s"] is not None else "-"
        if rec is None:
            cols = ["-"] * 5
        else:
            cols = [f"{rec[k] * 1000:.0f}" for k in ("total", "compute", "dump", "apply", "first")]
        print(f"| {d['n']:,} | {up} | {wall} | {seen} | {ok} | " + " | ".join(cols) + " |", flush=True)
    warn = sum(d["warnings"] for d, _ in rows)
    print(f"\nRuntimeWarnings in the daemons' logs: {warn}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,200,500,1000,2000")
    ap.add_argument("--rs", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--up-timeout", type=float, default=90)
    ap.add_argument("--reconcile-max", type=int, default=100000,
                    help="skip the in-process reconcile above this N (the old code's start is quadratic)")
    a = ap.parse_args()
    if os.environ.get(INNER) == "1":
        inner(a)
        return
    env = dict(os.environ, **{INNER: "1"})
    os.execvpe("unshare", ["unshare", "--net", "--", sys.executable, *sys.argv], env)


if __name__ == "__main__":
    main()
