"""Load on a VIP during a step: one HTTP GET (a new connection each) every INTERVAL
seconds, from a lab host (the client), until stopped; then the table: requests,
answered, failed, the longest gap without an answer, who answered.

    python3 vip_load.py run   --url URL [--interval 0.05] [--timeout 1] [--out FILE]  (until SIGTERM/SIGINT)
    python3 vip_load.py start --url URL --state DIR [...]   (run in the background, pid in DIR)
    python3 vip_load.py stop  --state DIR [--json]          (stop it, print the table or its JSON)

Stdlib only (it runs on the lab's client host with its python3). Requests are
sequential on a fixed 50 ms schedule: a request slower than the interval delays the
next one, it never overlaps it. The longest gap is measured between the end of one
answered request and the end of the next answered one (from the start of the load to
the first answer, and from the last answer to the stop count too), so it is the
longest time a user would have waited. Each failure is classified by what the client
saw (``timeout``: no answer within --timeout, e.g. a lost SYN or a reply that never
came back; ``reset``/``refused``: a RST, e.g. a host that holds the VIP without NAT
rules for it; ``other``) and its time is kept (seconds on CLOCK_MONOTONIC, which
every lab host shares, so a step can compare it with the moment it acted).
With --out FILE, progress.json beside it has the counts so far ({"requests", "failed"}),
rewritten at once on a failure and at least every second: a caller waits on it rather
than on a sleep.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

RESULT, PID, LOG, PROGRESS = "result.json", "pid", "log", "progress.json"


def summarize(samples, started, stopped):
    """``samples``: (start, end, answer or None[, why it failed]) per request, times in seconds
    on one clock. Returns the counts, the longest gap without an answer (and where it began,
    relative to ``started``), how many requests each answer got, the failures by kind and
    when the first and the last failure happened (CLOCK_MONOTONIC, absolute)."""
    answered = [s for s in samples if s[2] is not None]
    failed = [s for s in samples if s[2] is None]
    why: dict[str, int] = {}
    for s in failed:
        kind = s[3] if len(s) > 3 else "other"
        why[kind] = why.get(kind, 0) + 1
    marks = [started, *(s[1] for s in answered), stopped]
    gaps = [(b - a, a) for a, b in zip(marks, marks[1:], strict=False)]
    longest, at = max(gaps) if gaps else (0.0, started)
    by_answer: dict[str, int] = {}
    for s in answered:
        by_answer[s[2]] = by_answer.get(s[2], 0) + 1
    return {"requests": len(samples), "answered": len(answered), "failed": len(samples) - len(answered),
            "longest_gap": round(longest, 4), "longest_gap_at": round(at - started, 4),
            "duration": round(stopped - started, 4), "answers": by_answer, "failures": why,
            "started_at": round(started, 4), "longest_gap_from": round(at, 4),
            "first_failure_at": round(failed[0][0], 4) if failed else None,
            "last_failure_end": round(failed[-1][1], 4) if failed else None}


def table(result):
    rows = [("requests", result["requests"]), ("answered", result["answered"]), ("failed", result["failed"]),
            ("longest gap without an answer", f"{result['longest_gap'] * 1000:.0f} ms "
                                              f"(from t={result['longest_gap_at']:.2f} s)"),
            ("duration", f"{result['duration']:.2f} s"),
            ("failed, by kind", ", ".join(f"{k} x{v}" for k, v in sorted(result.get("failures", {}).items())) or "-"),
            ("answered by", ", ".join(f"{k} x{v}" for k, v in sorted(result["answers"].items())) or "-")]
    width = max(len(row[0]) for row in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def failure_kind(err):
    """What the client saw: timeout, reset, refused or other (urllib wraps socket errors)."""
    reason = getattr(err, "reason", err)
    if isinstance(reason, TimeoutError):
        return "timeout"
    if isinstance(reason, ConnectionRefusedError):
        return "refused"
    if isinstance(reason, (ConnectionResetError, http.client.RemoteDisconnected)):
        return "reset"
    return "other"


def one_request(url, timeout):
    """(answer, None), or (None, why) for a failed request."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.read().decode(errors="replace").strip()[:40] or "(empty)", None
    except Exception as err:  # noqa: BLE001 - every failure counts as one failed request
        return None, failure_kind(err)


def run(url, interval, timeout, out):
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *args: stop.append(True))
    samples = []
    started = time.monotonic()
    tick = started
    failed = written = 0
    while not stop:
        begin = time.monotonic()
        answer, why = one_request(url, timeout)
        samples.append((begin, time.monotonic(), answer, why))
        failed += why is not None
        if out and (why is not None or begin - written >= 1.0):  # who waits on a failure sees it at once
            write_atomic(Path(out).with_name(PROGRESS), json.dumps({"requests": len(samples), "failed": failed}))
            written = begin
        tick += interval
        pause = tick - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        else:
            tick = time.monotonic()  # late: restart the schedule, no burst to catch up
    result = dict(summarize(samples, started, time.monotonic()), url=url, interval=interval)
    if out:
        write_atomic(Path(out), json.dumps(result, sort_keys=True))
    print(table(result))
    return result


def write_atomic(path, text):
    tmp = Path(str(path) + ".part")
    tmp.write_text(text + "\n")
    tmp.replace(path)


def start(args):
    state = Path(args.state)
    state.mkdir(parents=True, exist_ok=True)
    (state / RESULT).unlink(missing_ok=True)
    with open(state / LOG, "w") as log:
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "run", "--url", args.url,
                                 "--interval", str(args.interval), "--timeout", str(args.timeout),
                                 "--out", str(state / RESULT)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (state / PID).write_text(f"{proc.pid}\n")
    print(f"load on {args.url} every {args.interval * 1000:.0f} ms: pid {proc.pid}")


def stop(args):
    state = Path(args.state)
    pid = int((state / PID).read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout + 10
    while not (state / RESULT).exists():
        if time.monotonic() > deadline:
            sys.exit(f"vip_load: pid {pid} wrote no {state / RESULT} within {args.timeout + 10:.0f} s")
        time.sleep(0.05)
    (state / PID).unlink()
    result = json.loads((state / RESULT).read_text())
    print(json.dumps(result, sort_keys=True) if args.json else table(result))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "start"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True)
        p.add_argument("--interval", type=float, default=0.05)
        p.add_argument("--timeout", type=float, default=1.0, help="per request, seconds")
        if name == "run":
            p.add_argument("--out")
        else:
            p.add_argument("--state", required=True)
    p = sub.add_parser("stop")
    p.add_argument("--state", required=True)
    p.add_argument("--timeout", type=float, default=1.0)
    p.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.url, args.interval, args.timeout, args.out)
    elif args.command == "start":
        start(args)
    else:
        stop(args)


if __name__ == "__main__":
    main()
