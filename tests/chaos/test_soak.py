"""A soak (issue 16 chaos suite), lab "five": 50 instances at advert_int 0.1 s for CHAOS_SOAK_SECONDS.

lb1 runs 50 VRRPv3 instances at priority 200, lb2 the same 50 at 100, advert_int 0.1 s (1,000 adverts
a second on the segment per implementation). pykeepalived and keepalived 2.2.7 run side by side
(VRIDs 1-50 and 51-100, VIPs 10.50.0.N and 10.51.0.N), so both see the same machine load. After
every VIP is on lb1, ``ip monitor address`` watches both hosts for the whole soak, and every
process of each daemon is sampled from /proc (RSS; CPU time, as a share of one core per window)
WINDOWS times. Reported: VIP moves, RSS at the first and last sample, CPU in the first and last
window. Asserted for pykeepalived: no VIP moved (every one would be a spurious transition), the
daemons are alive, RSS grew by less than a quarter.

CHAOS_SOAK_SECONDS: 600 in ``make chaos``; 0 skips it (the ``make integration`` subset).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from chaos_probes import process_tree, usage, vip_monitor
from vrrp.vrrp_cases import global_defs, instance, stop_all, vips
from vrrp.vrrp_hosts import Daemon, wait_for

LAB_TOPOLOGY = "five"
INSTANCES = 50
ADVERT = 0.1
WINDOWS = 10
BASE = {"pykeepalived": (1, "10.50.0."), "keepalived 2.2.7": (51, "10.51.0.")}


def soak_seconds() -> float:
    return float(os.environ.get("CHAOS_SOAK_SECONDS", "600"))


def config(kind: str, priority: int) -> str:
    vrid, net = BASE[kind]
    return global_defs() + "".join(instance(f"VI_{n}", vrid + n, priority, f"{net}{n + 1}/32", advert=ADVERT)
                                   for n in range(INSTANCES))


def all_vips(kind: str) -> set[str]:
    return {f"{BASE[kind][1]}{n + 1}" for n in range(INSTANCES)}


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
        for kind in kinds:
            wait_for(lambda k=kind: all_vips(k) <= vips(lab, "lb1") and not all_vips(k) & vips(lab, "lb2"), 60,
                     f"{kind}'s {INSTANCES} VIPs never all on lb1 and none on lb2")
        time.sleep(2)  # the masters' GARP bursts are over
        samples = [sample(lab, daemons)]
        with vip_monitor(lab, ("lb1", "lb2"), tmp_path, "soak") as added:
            for n in range(WINDOWS):
                time.sleep(max(0.0, samples[0][next(iter(daemons))][0] + seconds * (n + 1) / WINDOWS
                               - time.monotonic()))
                samples.append(sample(lab, daemons))
            moves = {kind: added(all_vips(kind)) for kind in kinds}
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
        rows.append(f"| {kind} | {host} | {moves[kind]} | {rss0:.1f} | {rss1:.1f} | {cpu(key, 0, 1):.1f} "
                    f"| {cpu(key, -2, -1):.1f} | {'yes' if alive[kind] else 'NO'} |")
    write_table("soak",
                f"Soak: {INSTANCES} VRRPv3 instances at advert_int {ADVERT:g} s, {seconds:g} s, master lb1 and backup "
                f"lb2{', both implementations side by side' if len(kinds) > 1 else ''}; RSS and CPU over every process "
                f"of the daemon, CPU in the first and last of {WINDOWS} windows\n\n"
                "| daemon | host | VIP moves | RSS first, MiB | RSS last, MiB | CPU first, % of a core "
                "| CPU last, % of a core | alive |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n"
                + "\n".join(sorted(rows)) + "\n")
    assert alive["pykeepalived"] and moves["pykeepalived"] == 0, (alive, moves)
    for host in ("lb1", "lb2"):
        key = ("pykeepalived", host)
        assert samples[-1][key][1] < samples[0][key][1] * 1.25, f"{host}: RSS {samples[0][key][1]} -> {samples[-1][key][1]} KiB"
