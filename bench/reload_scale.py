#!/usr/bin/env python3
"""Reload at scale on the nftables plane, measured as a new user would.

For N x 20 (N virtual servers of 20 real servers each, wrr, no checkers) the
real daemon (``pykeepalived -n``, supervisor and children) runs in a private
network namespace of its own (``unshare --net``: nothing leaves it, the
addresses are never contacted). The bench times how long the table takes to
appear, then sends SIGHUP to the parent after four kinds of edits and times
HUP -> kernel updated: (a) the file unchanged (until the parent logs "reload
done"), (b) one real server's weight changed, (c) one real server added to
one virtual server, (d) one virtual server (of 20 real servers) added; for
(b)-(d) until the checker child logs its first kernel op of the reload (it
logs after ``nft -f`` returned), then checked once in the kernel (``nft``). (c) and (d) are undone (HUP, waited for) before
the next run. After each reload the first virtual server's chain, which no
edit touches, is listed with its rule handles (``nft -a``) and compared with
before ("untouched": a rewritten rule would have a new handle). A second, in-process part (``--reconcile-max``) times the
plane's reconcile of (b) (``LoadBalancer.reload``: desired state + nft).

    .venv/bin/python bench/reload_scale.py [--sizes 100,1000,2000] [--runs 3] [--up-timeout 90]
                                           [--reconcile-max N] [--wait 120]

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
from datetime import datetime
from pathlib import Path

BIN = Path(sys.executable).parent
INNER = "PYK_RELOAD_SCALE_INNER"


VBASE = int(ipaddress.IPv4Address("10.1.0.0"))
RBASE = int(ipaddress.IPv4Address("10.128.0.0"))
EXTRA_RS = ipaddress.IPv4Address("10.250.0.1")  # (c): the real server added


def config(n_vs: int, n_rs: int, bump: int = 0, add_rs: bool = False, add_vs: bool = False) -> str:
    """N wrr virtual servers x n_rs real servers without checkers; ``bump`` changes one weight,
    ``add_rs`` adds one real server to the middle virtual server, ``add_vs`` one virtual server."""
    vbase, rbase = VBASE, RBASE
    out = ["global_defs {\n    lb_backend nftables\n}\n"]
    for v in range(n_vs + add_vs):
        out.append(f"virtual_server {ipaddress.IPv4Address(vbase + v)} 80 {{\n    lb_algo wrr\n    lb_kind NAT\n"
                   "    protocol TCP\n")
        for r in range(n_rs):
            w = 1 + r % 5 + (bump if v == n_vs // 2 and r == 0 else 0)
            out.append(f"    real_server {ipaddress.IPv4Address(rbase + v * n_rs + r)} 8080 {{\n"
                       f"        weight {w}\n    }}\n")
        if add_rs and v == n_vs // 2:
            out.append(f"    real_server {EXTRA_RS} 8080 {{\n        weight 3\n    }}\n")
        out.append("}\n")
    return "".join(out)


def nft(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["nft", *args], capture_output=True, text=True, check=False)


def services_in_kernel() -> int:
    r = nft("list", "table", "inet", "pykeepalived")
    return r.stdout.count('comment "pyk ') if r.returncode == 0 else 0


def chain(v: int) -> str:
    """Virtual server ``v``'s own chain (lb/nft_render.py: ``s_<svc>``)."""
    return "s_tcp_" + str(ipaddress.IPv4Address(VBASE + v)).replace(".", "_") + "_80"


def untouched_rules() -> str:
    """The first virtual server's chain with its rule handles (``nft -a``): no edit of the bench
    touches that service, and a transaction that rewrote its rules would give them new handles."""
    r = nft("-a", "list", "chain", "inet", "pykeepalived", chain(0))
    return r.stdout if r.returncode == 0 else ""


def service_id(v: int) -> int | None:
    """The plane's number for virtual server ``v``: the last field of its rule's comment."""
    r = nft("list", "chain", "inet", "pykeepalived", chain(v))
    m = re.search(r'comment "pyk [^"]* (\d+)"', r.stdout) if r.returncode == 0 else None
    return int(m.group(1)) if m else None


def weight_in_kernel(n_vs: int, n_rs: int, rip: ipaddress.IPv4Address | None = None) -> int | None:
    """A real server's weight as the kernel holds it (``weight4``, keyed by its service's id);
    by default the middle virtual server's first one (the one ``bump`` changes)."""
    rip = rip or ipaddress.IPv4Address(RBASE + (n_vs // 2) * n_rs)
    sid = service_id(n_vs // 2)
    if sid is None:
        return None
    r = nft("get", "element", "inet", "pykeepalived", "weight4", f"{{ {sid} . {rip} . 8080 }}")
    if r.returncode != 0:
        return None
    m = re.search(re.escape(f" . {rip} . 8080 : ") + r"(0x[0-9a-f]+|\d+)", r.stdout)
    return int(m.group(1), 0) if m else None


def timed(into: list[float], fn):
    """``fn``, appending each call's wall time to ``into`` (a plane phase timed in process)."""
    def wrapper(*args, **kw):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            into.append(time.perf_counter() - t0)
    return wrapper


DONE_MARKS = ("reload done", "reload: not applied", "rejected")
JUDGED_RE = re.compile(r"judged in ([0-9.]+) s")
STAMP_RE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def _stamp(line: str) -> float | None:
    m = STAMP_RE.match(line)
    return datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp() if m else None  # noqa: DTZ007 (local, as logged)


def _hup(pid: int, log_path: Path, seen, wait: float) -> tuple[float | None, float | None, float | None]:
    """SIGHUP the parent; (s until the checker child logged its first kernel op, s until the parent
    logged the reload's end, the judge's s), from the daemon's own log lines: polling the kernel
    (``nft get element`` loads every set, 1-2 s at 2,000 x 20) would load the machine and blur the
    time.  ``seen()`` then checks, once, that the kernel holds what the edit asked for (else the
    kernel time is None)."""
    offset = log_path.stat().st_size
    t0 = time.time()
    os.kill(pid, signal.SIGHUP)
    new = ""
    while time.time() - t0 < wait and not any(m in new for m in DONE_MARKS):
        time.sleep(0.05)
        with log_path.open(errors="replace") as f:
            f.seek(offset)
            new = f.read()
    lines = new.splitlines()
    done = next((_stamp(ln) for ln in lines if any(m in ln for m in DONE_MARKS)), None)
    kernel = next((_stamp(ln) for ln in lines if " check: reload: " in ln and " dest " in ln or
                   " check: reload: add service" in ln), None)
    judged = [float(x) for x in JUDGED_RE.findall(new)]
    ok = done is not None and seen()
    return (kernel - t0 if kernel is not None and ok else None, done - t0 if done is not None else None,
            judged[0] if judged else None)


def daemon_case(n_vs: int, n_rs: int, runs: int, up_timeout: float, wait: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"reload-scale-{n_vs}-"))
    conf = tmp / "keepalived.conf"
    conf.write_text(config(n_vs, n_rs))
    run = tmp / "run"
    log_path = tmp / "daemon.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "pykeepalived"), "-n", "-l", "-f", str(conf), "--runtime-dir", str(run)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    out: dict = {"n": n_vs, "up_s": None, "warnings": 0, "ok": 0, "tries": 0, "untouched": 0,
                 **{k: [] for k in ("a", "b", "c", "d")}}
    rules = [""]  # the unchanged service's rules before the reload being recorded

    def record(case: str, kernel: float | None, done: float | None, judge: float | None,
               kernel_wanted: bool = True) -> None:
        now = untouched_rules()
        out["untouched"] += bool(now) and now == rules[0]
        rules[0] = now
        got = kernel if kernel_wanted else done
        out[case].append(got)
        out.setdefault("judge_" + case, []).append(judge)
        out["tries"] += 1
        out["ok"] += got is not None and done is not None

    def undo() -> None:  # back to the base file, waited for
        conf.write_text(config(n_vs, n_rs))
        _hup(proc.pid, log_path, lambda: True, wait)
        rules[0] = untouched_rules()

    try:
        while time.perf_counter() - t0 < up_timeout:
            if services_in_kernel() >= n_vs:
                out["up_s"] = time.perf_counter() - t0
                break
            time.sleep(0.2)
        if out["up_s"] is None:
            return out
        time.sleep(1.0)  # let the children settle (status, metrics) before timing reloads
        rules[0] = untouched_rules()
        for i in range(runs):
            record("a", *_hup(proc.pid, log_path, lambda: True, wait), kernel_wanted=False)  # (a) unchanged
            bump = 1 + i % 2  # (b) 1, 2, 1: the weight changes every run
            conf.write_text(config(n_vs, n_rs, bump))
            record("b", *_hup(proc.pid, log_path, lambda b=bump: weight_in_kernel(n_vs, n_rs) == 1 + b, wait))
            conf.write_text(config(n_vs, n_rs, bump, add_rs=True))  # (c)
            record("c", *_hup(proc.pid, log_path, lambda: weight_in_kernel(n_vs, n_rs, EXTRA_RS) == 3, wait))
            undo()
            conf.write_text(config(n_vs, n_rs, bump, add_vs=True))  # (d)
            record("d", *_hup(proc.pid, log_path, lambda: service_id(n_vs) is not None, wait))
            undo()
        return out
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        text = log_path.read_text(errors="replace")
        out["warnings"] = text.count("RuntimeWarning")
        out["stall_kills"] = text.count(": killing it")  # the supervisor's line for a stalled child
        nft("delete", "table", "inet", "pykeepalived")
        if os.environ.get("PYK_RELOAD_SCALE_KEEP"):
            print(f"(kept {tmp})", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def reconcile_case(n_vs: int, n_rs: int, runs: int) -> dict:
    """The plane in this process: start, then a one-weight reload, phase by phase (compute = the
desired state, ``LoadBalancer._compute``; apply = the nft transaction)."""
    from pykeepalived.config.loader import loads_config
    from pykeepalived.core.snapshot import Decoder
    from pykeepalived.lb.nftables import NftBackend
    from pykeepalived.lb.plane import LoadBalancer

    configs = []
    child = Decoder()  # as a child gets them: unchanged blocks handed over as the same objects
    for bump in (0, 1, 2):
        cfg, diags = loads_config(config(n_vs, n_rs, bump))
        assert not diags.errors, [str(e) for e in diags.errors[:3]]
        configs.append(child.decode(Decoder().encode(cfg)))
    backend = NftBackend()
    with tempfile.TemporaryDirectory() as d:
        lb = LoadBalancer(configs[0], backend, d)
        t = time.perf_counter()
        r = lb.start()
        first = time.perf_counter() - t
        assert not r.errors, r.errors[:3]
        phases: dict[str, list[float]] = {"compute": [], "dump": [], "apply": [], "total": []}
        real = (lb._compute, backend.dump, backend.apply)  # noqa: SLF001 (the phase timed)

        lb._compute = timed(phases["compute"], real[0])
        backend.dump = timed(phases["dump"], real[1])
        backend.apply = timed(phases["apply"], real[2])
        try:
            for i in range(runs):
                t = time.perf_counter()
                r = lb.reload(configs[1 + i % 2])
                phases["total"].append(time.perf_counter() - t)
                assert not r.errors and len(r.ops) == 1, (r.errors[:3], [str(o) for o in r.ops[:3]])
        finally:
            lb._compute, backend.dump, backend.apply = real
        lb.stop()
    med = {k: statistics.median(v) for k, v in phases.items()}
    med["first"] = first
    return med


def median_text(xs: list) -> str:
    """The median of the runs that finished (2 decimals), saying how many timed out."""
    got = [x for x in xs if x is not None]
    if not got:
        return "-"
    med = f"{statistics.median(got):.2f}"
    return med if len(got) == len(xs) else f"{med} ({len(xs) - len(got)} timed out)"


def inner(a: argparse.Namespace) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    sizes = [int(s) for s in a.sizes.split(",")]
    rows = []
    print(f"\nnftables plane, N virtual servers x {a.rs} real servers (wrr, no checkers); HUP -> kernel "
          f"updated, s, median of {a.runs}: (a) unchanged (-> reload done), (b) one weight, (c) one real "
          f"server added, (d) one virtual server added; in parentheses the judge's share (parse and "
          f"validation, the parent's \"judged in\" log line)\n")
    print("| N x 20 | daemon up s | (a) unchanged | (b) weight | (c) +1 real | (d) +1 virtual | reloads ok | "
          "untouched | stall kills | reconcile ms | compute ms | apply ms | first apply ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for n in sizes:
        d = daemon_case(n, a.rs, a.runs, a.up_timeout, a.wait)
        rec = reconcile_case(n, a.rs, a.runs) if n <= a.reconcile_max else None
        rows.append((d, rec))
        up = f"{d['up_s']:.2f}" if d["up_s"] is not None else f"not up in {a.up_timeout:g} s"
        cases = [median_text(d[k]) + (f" ({median_text(d['judge_' + k])})" if d.get("judge_" + k) else "")
                 for k in ("a", "b", "c", "d")]
        ok = f"{d['ok']}/{d['tries']}"
        cols = ["-"] * 4 if rec is None else [f"{rec[k] * 1000:.0f}" for k in ("total", "compute", "apply", "first")]
        print(f"| {d['n']:,} | {up} | " + " | ".join(cases) + f" | {ok} | {d['untouched']}/{d['tries']} | "
              f"{d.get('stall_kills', 0)} | "
              + " | ".join(cols) + " |", flush=True)
    warn = sum(d["warnings"] for d, _ in rows)
    print(f"\nRuntimeWarnings in the daemons' logs: {warn}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000,2000")
    ap.add_argument("--rs", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--up-timeout", type=float, default=90)
    ap.add_argument("--reconcile-max", type=int, default=0,
                    help="time the in-process reconcile up to this N (0: not at all)")
    ap.add_argument("--wait", type=float, default=120, help="s to wait for each reload")
    a = ap.parse_args()
    if os.environ.get(INNER) == "1":
        inner(a)
        return
    env = dict(os.environ, **{INNER: "1"})
    os.execvpe("unshare", ["unshare", "--net", "--", sys.executable, *sys.argv], env)


if __name__ == "__main__":
    main()
