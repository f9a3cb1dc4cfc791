"""A flapping track_script (issue 16 chaos suite), lab "five": no crash, the VIP follows, counted.

lb1 (priority 200) tracks a vrrp_script (weight -150, interval 1 s: keepalived's shortest) whose
exit code flips on every run: 200 and 50 in turn, so lb2 (100) takes over and lb1 takes back, again
and again. VRRPv3 advert_int 0.2 s, so a takeover (Master_Down_Interval about 0.7 s) fits in one
flip. After FLAP_SECONDS the script stays healthy and lb1 must end with the VIP, lb2 without.
pykeepalived and keepalived 2.2.7 run side by side (different VRIDs, each its own script).

Counted: script runs (each appends a line), VIP moves (additions of the VIP on either host,
``ip monitor address``). Asserted for pykeepalived: it is alive, logged no traceback, settled.
"""
from __future__ import annotations

import time
from pathlib import Path

from chaos_probes import short, vip_monitor
from vrrp.vrrp_cases import global_defs, instance, stop_all, wait_vips
from vrrp.vrrp_hosts import Daemon

LAB_TOPOLOGY = "five"
ADVERT = 0.2
PAIRS = {"pykeepalived": (126, "192.0.2.226"), "keepalived 2.2.7": (127, "192.0.2.227")}
FLIP = ('d=$(dirname "$0"); echo run >> "$d/runs"; [ -e "$d/steady" ] && exit 0; '
        'if [ -e "$d/state" ]; then rm -f "$d/state"; exit 1; fi; touch "$d/state"; exit 0\n')


def flap_seconds() -> float:
    return 10.0 if short() else 30.0


def pair(lab, kind: str) -> tuple[Daemon, Daemon]:
    vrid, vip = PAIRS[kind]
    daemon = kind.split()[0]
    name = f"ft-{daemon[:2]}"
    script = (f"vrrp_script flip {{\n    script \"/bin/sh /run/hk-vrrp-test/{name}-lb1/flip.sh\"\n"
              "    interval 1\n    weight -150\n}\n")
    track = "    track_script {\n        flip\n    }\n"
    master = Daemon(lab, "lb1", daemon, f"{name}-lb1",
                    global_defs() + script + instance("VI_1", vrid, 200, f"{vip}/24", advert=ADVERT, extra=track))
    backup_config = global_defs() + instance("VI_1", vrid, 100, f"{vip}/24", advert=ADVERT)
    backup = Daemon(lab, "lb2", daemon, f"{name}-lb2", backup_config)
    return master, backup


def test_flapping_track_script(lab, with_keepalived: bool, write_table, tmp_path: Path) -> None:
    kinds = ["pykeepalived"] + (["keepalived 2.2.7"] if with_keepalived else [])
    pairs = {kind: pair(lab, kind) for kind in kinds}
    seconds = flap_seconds()
    try:
        for master, backup in pairs.values():
            lab.exec("lb1", ["mkdir", "-p", master.dir])
            lab.exec("lb1", ["tee", f"{master.dir}/flip.sh"], input=FLIP)
            lab.exec("lb1", ["touch", f"{master.dir}/steady"])  # healthy until every pair is up
            backup.start(tmp_path)
            master.start(tmp_path)
        for kind in kinds:
            wait_vips(lab, "lb1", {PAIRS[kind][1]}, 15)
            wait_vips(lab, "lb2", {PAIRS[kind][1]}, 15, absent=True)
        with vip_monitor(lab, ("lb1", "lb2"), tmp_path, "flap") as added:
            for master, _backup in pairs.values():
                lab.exec("lb1", ["rm", "-f", f"{master.dir}/steady", f"{master.dir}/runs"])
            time.sleep(seconds)
            for master, _backup in pairs.values():
                lab.exec("lb1", ["touch", f"{master.dir}/steady"])
            runs = {k: len(lab.exec("lb1", ["cat", f"{m.dir}/runs"], check=False).stdout.split())
                    for k, (m, _b) in pairs.items()}
            moves = {kind: added(PAIRS[kind][1]) for kind in kinds}
        alive = {kind: m.running() and b.running() for kind, (m, b) in pairs.items()}
        settled = {}
        for kind in kinds:  # healthy again: lb1 (200) preempts
            try:
                wait_vips(lab, "lb2", {PAIRS[kind][1]}, 10, absent=True)
                wait_vips(lab, "lb1", {PAIRS[kind][1]}, 10)
                settled[kind] = True
            except AssertionError:
                settled[kind] = False
    finally:
        stop_all(*(d for p in pairs.values() for d in p))
    tracebacks = {kind: sum((tmp_path / f"{d.host}-{d.name}.log").read_text(errors="replace").count("Traceback")
                            for d in pairs[kind]) for kind in kinds}
    rows = [f"| {k} | {seconds:g} | {runs[k]} | {moves[k]} | {'yes' if alive[k] else 'NO'} | {tracebacks[k]} "
            f"| {'yes' if settled[k] else 'NO'} |" for k in kinds]
    write_table("flapping_track",
                f"Flapping track_script: exit code flipping on every run (interval 1 s, weight -150 on priority "
                f"200, backup 100), VRRPv3 advert_int {ADVERT:g} s\n\n"
                "| daemon | seconds | script runs | VIP moves | both alive | tracebacks logged "
                "| lb1 master once healthy |\n| --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n")
    assert alive["pykeepalived"] and tracebacks["pykeepalived"] == 0 and settled["pykeepalived"]
    assert runs["pykeepalived"] >= seconds / 2, runs  # the script did run and flip
    assert moves["pykeepalived"] >= 2, moves  # the VIP followed the flips (a move needs two flips at most)
