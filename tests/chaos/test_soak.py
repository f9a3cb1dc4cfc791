"""A soak (issue 16 chaos suite), lab "five": 50 instances at advert_int 0.1 s for CHAOS_SOAK_SECONDS.

lb1 runs 50 VRRPv3 instances at priority 200, lb2 the same 50 at 100, advert_int 0.1 s (500 adverts a
second from each master). pykeepalived and keepalived 2.2.7 run side by side
(VRIDs 1-50 and 51-100, VIPs 10.50.0.N and 10.51.0.N), so both see the same machine load.
``ip monitor address`` watches both hosts from the start; the soak begins once every VIP is on lb1,
none on lb2 and no VIP was added for QUIET s (the additions before are reported), and every
process of each daemon is sampled from /proc (RSS; CPU time, as a share of one core per window)
WINDOWS times. Reported: VIP moves, RSS at the first and last sample, CPU in the first and last
window, and the longest gap between lb1's adverts of one VRID as a capture on the client saw them
(a gap over Master_Down_Interval, 0.36 s, is the master's fault; without one, a move is the backup's).
Asserted for pykeepalived: no VIP moved (every one would be a spurious transition), the
daemons are alive, RSS grew by less than a quarter.

CHAOS_SOAK_SECONDS: 600 in ``make chaos``; 0 skips it (the ``make integration`` subset).
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from chaos_probes import process_tree, usage, vip_monitor
from vrrp.vrrp_cases import global_defs, instance, stop_all, vips
from vrrp.vrrp_hosts import Daemon

LAB_TOPOLOGY = "five"
INSTANCES = 50
ADVERT = 0.1
WINDOWS = 10
QUIET, SETTLE = 5.0, 180.0  # the soak starts once no VIP moved for QUIET s (bounded by SETTLE)
BASE = {"pykeepalived": (1, "10.50.0."), "keepalived 2.2.7": (51, "10.51.0.")}  # first VRID, VIP prefix
ADVERT_LINE = re.compile(r"^(\d+\.\d+) IP 192\.0\.2\.11 > 224\.0\.0\.18: VRRPv3, Advertisement, vrid (\d+),")


def soak_seconds() -> float:
    return float(os.environ.get("CHAOS_SOAK_SECONDS", "600"))


def config(kind: str, priority: int) -> str:
    vrid, net = BASE[kind]
    return global_defs() + "".join(instance(f"VI_{n}", vrid + n, priority, f"{net}{n + 1}/32", advert=ADVERT)
                                   for n in range(INSTANCES))


def all_vips(kind: str) -> set[str]:
    return {f"{BASE[kind][1]}{n + 1}" for n in range(INSTANCES)}


def settle(lab, kinds: list[str], added) -> float:
    """Until every VIP is on lb1, none on lb2, and no VIP was added anywhere for QUIET s; when."""
    quiet_since, count = time.monotonic(), -1
    end = time.monotonic() + SETTLE
    while True:
        now, seen = time.monotonic(), sum(added(all_vips(k)) for k in kinds)
        if seen != count:
            quiet_since, count = now, seen
        placed = all(all_vips(k) <= vips(lab, "lb1") and not all_vips(k) & vips(lab, "lb2") for k in kinds)
        if not placed:
            quiet_since = now
        elif now - quiet_since >= QUIET:
            return quiet_since
        assert now < end, f"the pairs never settled within {SETTLE} s ({count} VIP additions so far)"
        time.sleep(0.5)


def master_gaps(lines: list[str], since: float) -> dict[str, float]:
    """The longest gap between lb1's adverts of one VRID from ``since``, per implementation, as the client saw them."""
    last: dict[int, float] = {}
    longest = {kind: 0.0 for kind in BASE}
    for line in lines:
        if m := ADVERT_LINE.match(line):
            at, vrid = float(m.group(1)), int(m.group(2))
            if at < since:
                continue
            kind = "pykeepalived" if vrid <= INSTANCES else "keepalived 2.2.7"
            if vrid in last:
                longest[kind] = max(longest[kind], at - last[vrid])
            last[vrid] = at
    return longest


def sample(lab, daemons: dict[tuple[str, str], Daemon]) -> dict[tuple[str, str], tuple[float, int, float]]:
    """(time, RSS KiB, CPU s) per (kind, host), over every process of the daemon."""
    out = {}
    for key, d in daemons.items():
        rss, cpu = usage(lab, d.host, process_tree(lab, d.host, d.pids()[0]))
        out[key] = (time.monotonic(), rss, cpu)
    return out


@pytest.mark.skipif(soak_seconds() <= 0, reason="CHAOS_SOAK_SECONDS=0")
def test_soak_50_instances(lab, with_keepalived: bool, write_table, tmp_path: Path) -> None:
    seconds = soak_seconds()
    kinds = ["pykeepalived"] + (["keepalived 2.2.7"] if with_keepalived else [])
    daemons = {(k, h): Daemon(lab, h, k.split()[0], f"soak-{k[:2]}-{h}", config(k, prio))
               for k in kinds for h, prio in (("lb2", 100), ("lb1", 200))}
    try:
        for d in daemons.values():
            d.start(tmp_path)
        started = time.monotonic()
        with vip_monitor(lab, ("lb1", "lb2"), tmp_path, "soak") as added, \
                lab.capture("client", "eth0", "ip proto 112 and src host 192.0.2.11") as cap:
            settled = settle(lab, kinds, added)
            settle_moves = {kind: added(all_vips(kind)) for kind in kinds}
            samples, soak_from = [sample(lab, daemons)], time.time()
            for n in range(WINDOWS):
                time.sleep(max(0.0, samples[0][next(iter(daemons))][0] + seconds * (n + 1) / WINDOWS
                               - time.monotonic()))
                samples.append(sample(lab, daemons))
            moves = {kind: added(all_vips(kind)) - settle_moves[kind] for kind in kinds}
            since = settled - started
        gaps = master_gaps(cap.lines("-tt"), soak_from)
        alive = {kind: all(d.running() for (k, _h), d in daemons.items() if k == kind) for kind in kinds}
    finally:
        stop_all(*daemons.values())

    def cpu(key, a: int, b: int) -> float:  # % of one core between samples a and b
        (t0, _r0, c0), (t1, _r1, c1) = samples[a][key], samples[b][key]
        return 100 * (c1 - c0) / (t1 - t0)

    rows = []
    for key in daemons:
        kind, host = key
        rss0, rss1 = samples[0][key][1] / 1024, samples[-1][key][1] / 1024
        rows.append(f"| {kind} | {host} | {moves[kind]} | {gaps[kind]:.2f} | {rss0:.1f} | {rss1:.1f} "
                    f"| {cpu(key, 0, 1):.1f} | {cpu(key, -2, -1):.1f} | {'yes' if alive[kind] else 'NO'} |")
    side_by_side = ", both implementations side by side" if len(kinds) > 1 else ""
    write_table("soak",
                f"Soak: {INSTANCES} VRRPv3 instances at advert_int {ADVERT:g} s, {seconds:g} s once settled (the last VIP "
                f"moved {since:.0f} s after the start: {', '.join(f'{k} {settle_moves[k]}' for k in kinds)} VIP "
                f"additions before), master lb1 and backup lb2{side_by_side}; RSS and CPU over every process "
                f"of the daemon, CPU in the first and last of {WINDOWS} windows\n\n"
                "| daemon | host | VIP moves | longest gap between lb1's adverts of a VRID, s | RSS first, MiB "
                "| RSS last, MiB | CPU first, % of a core | CPU last, % of a core | alive |\n"
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
                + "\n".join(sorted(rows)) + "\n")
    assert alive["pykeepalived"] and moves["pykeepalived"] == 0, (alive, moves)
    for host in ("lb1", "lb2"):
        key = ("pykeepalived", host)
        assert samples[-1][key][1] < samples[0][key][1] * 1.25, f"{host}: RSS {samples[0][key][1]} -> {samples[-1][key][1]} KiB"
