"""BFD against Debian's keepalived 2.2.7 (RFC 5880/5881 single hop), and track_bfd.

lb1 runs pykeepalived with a bfd_instance pointing at lb2; lb2 runs keepalived
with one pointing back.  Each also runs a lone MASTER vrrp_instance that tracks
its session with weight 0, so its VIP is up exactly while BFD is Up.

Then, several times each way, the peer stops sending (nft drops its own
outgoing BFD packets) and the detecting host is timed from the last BFD packet
it captured to the removal of its VIP (FAULT): detection plus the VRRP
reaction, measured from outside both daemons in the same way.  The figure each
daemon logs itself (time since the last packet when the session expired) is
read too.  Medians are printed (`pytest -s`); docs/performance.md quotes them.
"""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from vrrp.vrrp_hosts import conf, has_vip, wait_for, wait_vip

from .bfd_hosts import AddressMonitor, BfdDaemon, bfd_block, bfd_conf, bfd_status, cut, last_packet_at, reported, track_bfd, uncut

LAB_TOPOLOGY = "five"
LB1, LB2 = "192.0.2.11", "192.0.2.12"
VIP1, VIP2 = "192.0.2.91", "192.0.2.92"
RUNS = int(os.environ.get("HK_BFD_RUNS", "5"))  # more for the table in docs/performance.md
OURS_EXPIRED = r"BFD expired after ([0-9.]+) ms"
KEEPALIVED_EXPIRED = r"Expired after ([0-9]+) ms"


def both_up(lab) -> None:
    """Both sessions Up again: both instances back to MASTER (the previous cut took both down)."""
    wait_vip(lab, "lb1", VIP1, 15)
    wait_vip(lab, "lb2", VIP2, 15)


def detect_once(lab, tmp_path: Path, run: int, detector: str, peer: str, peer_ip: str, vip: str,
                log: Path, pattern: str) -> tuple[float, float | None] | None:
    """(ms from the last peer packet to the VIP's removal, ms the daemon logged); None when the
    session dropped by itself (a loaded machine) between both_up and the cut: nothing to time."""
    both_up(lab)
    mark = log.stat().st_size
    monitor = AddressMonitor(lab, detector, tmp_path / f"addr-{detector}-{run}.txt")
    try:
        with lab.capture(detector, "eth0", f"udp and dst port 3784 and src host {peer_ip}") as cap:
            # the peer is heard before the cut (a loaded machine can stall a daemon for a while)
            wait_for(lambda: len(cap.lines()) >= 3, 10, f"{peer} sent no BFD packets to {detector}")
            cut_at = time.time()
            present = has_vip(lab, detector, vip)
            cut(lab, peer)
            wait_vip(lab, detector, vip, 5, present=False)
            time.sleep(0.2)
    finally:
        monitor.stop()
    if not present:
        uncut(lab, peer)
        return None
    end_to_end = (monitor.deleted_at(vip, after=cut_at) - last_packet_at(cap.lines("-tt"))) * 1000
    time.sleep(0.2)  # the log line is written as the session changes; let it reach the file
    uncut(lab, peer)
    both_up(lab)
    return end_to_end, reported(log, pattern, mark)


def test_sessions_with_keepalived_detection_and_fault(lab, tmp_path: Path) -> None:
    ours = BfdDaemon(lab, "lb1", "pykeepalived", "bfd-ours", bfd_conf("to_lb2", LB2, LB1, 91, VIP1))
    theirs = BfdDaemon(lab, "lb2", "keepalived", "bfd-ka", bfd_conf("to_lb1", LB1, LB2, 92, VIP2))
    results: dict[str, list[tuple[float, float | None]]] = {"pykeepalived": [], "keepalived": []}
    dropped = {"pykeepalived": 0, "keepalived": 0}  # runs whose session fell by itself before the cut
    try:
        ours.start(tmp_path)
        theirs.start(tmp_path)
        # weight 0: each VIP appears only once its BFD session is Up (FAULT before)
        both_up(lab)
        # Up now, not just once: a loaded machine (load 25) starves a 150 ms session now and then,
        # and it comes back by itself (detect_once counts such falls)
        wait_for(lambda: bfd_status(ours)["sessions"]["to_lb2"]["state"] == "UP", 15, "session not Up")
        session = bfd_status(ours)["sessions"]["to_lb2"]
        assert session["remote_discr"] != 0, session
        assert session["tx_interval_ms"] == 50 and session["detection_time_ms"] == 150, session
        for run in range(RUNS):  # alternate, so both see the same machine load
            for name, args in (("pykeepalived", ("lb1", "lb2", LB2, VIP1, ours.log_path(tmp_path), OURS_EXPIRED)),
                               ("keepalived", ("lb2", "lb1", LB1, VIP2, theirs.log_path(tmp_path),
                                               KEEPALIVED_EXPIRED))):
                row = detect_once(lab, tmp_path, run, *args)
                if row is None:
                    dropped[name] += 1
                else:
                    results[name].append(row)
        assert has_vip(lab, "lb1", VIP1) and has_vip(lab, "lb2", VIP2)
        status = bfd_status(ours)
        assert status["sessions"]["to_lb2"]["drops"] == {} and status["drops"] == {}, status  # keepalived's all pass
    finally:
        uncut(lab, "lb1")
        uncut(lab, "lb2")
        for d in (ours, theirs):
            if d.running():
                d.stop()
    print("\nBFD detection, min_rx/min_tx 50 ms, multiplier 3 (expected 150 ms); median of", RUNS, "runs")
    print("| daemon | last packet -> VIP removed (ms) | logged by the daemon (ms) | runs | fell before the cut |")
    print("|---|---|---|---|---|")
    for name, rows in results.items():
        e2e = statistics.median(r[0] for r in rows)
        logged = [r[1] for r in rows if r[1] is not None]
        shown = f"{statistics.median(logged):.1f}" if logged else "-"
        print(f"| {name} | {e2e:.1f} | {shown} | {', '.join(f'{r[0]:.0f}' for r in rows)} | {dropped[name]} |")
    for name, rows in results.items():  # each cut was detected by BFD (the VRRP instance alone never faults)
        assert len(rows) + dropped[name] == RUNS and rows and all(r[0] > 0 for r in rows), (name, rows)
    assert all(r[1] is not None for r in results["pykeepalived"]), "pykeepalived logged no BFD expiry"


def test_a_weighted_track_bfd_lowers_the_priority_and_keepalived_takes_over(lab, tmp_path: Path) -> None:
    """pykeepalived (150, track_bfd weight -100) and keepalived (100) share one VRID; BFD between
    them.  While the session is Up we are master; when lb2 stops sending BFD our priority drops
    to 50 and keepalived preempts; when it speaks again we take the VIP back."""
    vip = "192.0.2.93"
    ours = BfdDaemon(lab, "lb1", "pykeepalived", "bfd-w-ours",
                     bfd_block("to_lb2", LB2, LB1) + conf(93, 150, vip, state="MASTER",
                                                          extra=track_bfd("to_lb2", -100)))
    theirs = BfdDaemon(lab, "lb2", "keepalived", "bfd-w-ka", bfd_block("to_lb1", LB1, LB2) + conf(93, 100, vip))
    try:
        theirs.start(tmp_path)
        ours.start(tmp_path)
        wait_vip(lab, "lb1", vip, 20)
        wait_vip(lab, "lb2", vip, 5, present=False)
        cut(lab, "lb2")
        wait_vip(lab, "lb2", vip, 10)
        wait_vip(lab, "lb1", vip, 5, present=False)
        uncut(lab, "lb2")
        wait_vip(lab, "lb1", vip, 20)
        wait_vip(lab, "lb2", vip, 5, present=False)
    finally:
        uncut(lab, "lb2")
        for d in (ours, theirs):
            if d.running():
                d.stop()


def test_a_reload_that_changes_only_timers_keeps_the_session(lab, tmp_path: Path) -> None:
    """min_tx 300 -> 400 by SIGHUP: a Poll Sequence, no restart, the tracking instance stays MASTER.

    Slow timers on purpose (1.5 s detection): applying a reload blocks the VRRP child's loop,
    which also runs BFD, for longer than 150 ms on a loaded machine (docs/vrrp.md, "BFD")."""
    vip = "192.0.2.94"

    def ours_conf(min_tx: int) -> str:
        return (bfd_block("to_lb2", LB2, LB1, interval_ms=300, multiplier=5).replace("min_tx 300", f"min_tx {min_tx}")
                + conf(94, 100, vip, state="MASTER", extra=track_bfd("to_lb2")))

    ours = BfdDaemon(lab, "lb1", "pykeepalived", "bfd-r-ours", ours_conf(300))
    theirs = BfdDaemon(lab, "lb2", "keepalived", "bfd-r-ka",
                       bfd_block("to_lb1", LB1, LB2, interval_ms=300, multiplier=5)
                       + conf(95, 100, "192.0.2.95", state="MASTER"))  # keepalived's VRRP child writes vrrp.pid
    try:
        theirs.start(tmp_path)
        ours.start(tmp_path)
        wait_vip(lab, "lb1", vip, 20)
        ours.config = ours_conf(400)
        ours.write_config()
        with lab.capture("lb1", "eth0", f"udp and dst port 3784 and src host {LB1}") as cap:
            ours.kill("HUP")
            wait_for(lambda: bfd_status(ours)["sessions"]["to_lb2"]["tx_interval_ms"] == 400, 15,
                     "the reload did not reach the BFD session")
            # packets on both sides of the reload, so the longest gap spans it (the status can
            # show the new interval before a second packet left)
            wait_for(lambda: len(cap.lines()) >= 4, 15, "fewer than 4 BFD packets around the reload")
        session = bfd_status(ours)["sessions"]["to_lb2"]
        assert session["state"] == "UP", session
        assert has_vip(lab, "lb1", vip), "the reload took the instance through FAULT"
        sent = cap.lines("-v")
        assert any("Poll" in ln for ln in sent), f"no Poll Sequence announced the new timers: {sent[-6:]}"
        assert not any("State Down" in ln or "State Init" in ln for ln in sent), "the session restarted"
        assert "BFD UP -> DOWN" not in ours.log_path(tmp_path).read_text()
        stamps = [float(ln.split()[0]) for ln in cap.lines("-tt") if ln[:1].isdigit()]
        gap = max(b - a for a, b in zip(stamps, stamps[1:], strict=False))
        print(f"\nlongest gap between our BFD packets across the reload: {gap * 1000:.0f} ms (tx 300-400 ms)")
    finally:
        for d in (ours, theirs):
            if d.running():
                d.stop()
