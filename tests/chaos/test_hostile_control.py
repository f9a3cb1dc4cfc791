"""Hostile control-socket clients (issue 16 chaos suite), lab "five": the daemon answers on, the VIP stays.

A pykeepalived pair (lb1 master, lb2 backup, VRRPv3 advert_int 0.2 s). Inside lb1,
tests/chaos/ctl_hostile.py: a client as uid 65534 (the socket's mode refuses it; then, with the
socket opened to all, the daemon's own SO_PEERCRED check must), a 10 MB line, 100 idle clients
held open, 200 malformed lines on one connection; ``pykeepalivedctl status`` after each (ten times
while the idle clients are held). Meanwhile ``ip monitor address`` watches both hosts: the VIP must
not move. Last, lb1 is stopped (SIGTERM) with a client connected: the client sees the connection
close and the daemon logs no traceback. keepalived has no control socket: nothing to compare.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from chaos_probes import vip_monitor
from vrrp.vrrp_cases import dump, global_defs, instance, stop_all, vips, vrrp_instance, wait_vips
from vrrp.vrrp_hosts import Daemon, wait_for

LAB_TOPOLOGY = "five"
VIP = "192.0.2.228"
VRID = 128
HOSTILE = str(Path(__file__).with_name("ctl_hostile.py"))
CTL = str(Path(sys.executable).with_name("pykeepalivedctl"))


def test_hostile_control_clients(lab, write_table, tmp_path: Path) -> None:
    m = Daemon(lab, "lb1", "pykeepalived", "hc-m", global_defs() + instance("VI_1", VRID, 200, f"{VIP}/24"))
    b = Daemon(lab, "lb2", "pykeepalived", "hc-b", global_defs() + instance("VI_1", VRID, 100, f"{VIP}/24"))
    holder = None
    try:
        b.start(tmp_path)
        m.start(tmp_path)
        wait_vips(lab, "lb1", {VIP}, 15)
        wait_vips(lab, "lb2", {VIP}, 15, absent=True)
        wait_for(lambda: lab.exec("lb1", ["test", "-S", f"{m.dir}/control.sock"], check=False).returncode == 0,
                 15, "lb1 has no control socket")
        before = vrrp_instance(dump(m), "VI_1")["counters"]["transitions"]
        with vip_monitor(lab, ("lb1", "lb2"), tmp_path, "ctl") as added:
            out = lab.exec("lb1", [sys.executable, HOSTILE, "attack", m.dir, CTL], timeout=300).stdout
            moves = added(VIP)
        got = json.loads(out)
        st = vrrp_instance(dump(m), "VI_1")
        # stop with a client connected
        holder = lab.popen("lb1", [sys.executable, HOSTILE, "hold", m.dir], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        held = holder.stdout.readline().strip()
        m.stop()
        closed = holder.stdout.readline().strip()
        holder.wait(30)
        log = (tmp_path / f"lb1-{m.name}.log").read_text(errors="replace")
    finally:
        if holder is not None and holder.poll() is None:
            holder.kill()
            holder.wait()
        stop_all(m, b)
    slowest = max(s["seconds"] for s in got["status"])
    rows = [("non-root client, socket mode 0600", got["nobody, socket 0600"]),
            ("non-root client, socket opened to all (SO_PEERCRED)", got["nobody, socket 0666"]),
            ("10 MB line", got["10 MB line"]),
            ("200 malformed lines: error replies / ok replies", f"{got['malformed'][0]} / {got['malformed'][1]}"),
            ("`pykeepalivedctl status` answered", f"{sum(s['ok'] for s in got['status'])} of {len(got['status'])} "
                                                  f"(slowest {slowest:.2f} s, 10 of them with 100 idle clients)"),
            ("VIP added on lb1 or lb2 during the attacks", str(moves)),
            ("lb1's transitions during the attacks", str(st["counters"]["transitions"] - before)),
            ("stop (SIGTERM) with a client connected",
             f"client: {held}, then {closed}; tracebacks logged: {log.count('Traceback')}")]
    write_table("hostile_control",
                "Hostile control-socket clients, pykeepalived master (keepalived has no control socket)\n\n"
                "| attack | what happened |\n| --- | --- |\n"
                + "\n".join(f"| {a} | {w.replace('|', '/')} |" for a, w in rows) + "\n")
    assert got["nobody, socket 0600"].startswith("connect refused"), got
    assert "permission denied: root only" in got["nobody, socket 0666"], got
    assert "request longer than" in got["10 MB line"], got
    assert got["malformed"] == [200, 0], got
    assert all(s["ok"] for s in got["status"]), got["status"]
    assert moves == 0 and st["state"] == "MASTER" and st["counters"]["transitions"] == before, (moves, st)
    assert VIP not in vips(lab, "lb1") and VIP not in vips(lab, "lb2")  # stopped cleanly, both
    assert held == "held" and closed == "closed", (held, closed)
    assert "Traceback" not in log, log[-3000:]
