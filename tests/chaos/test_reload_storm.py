"""Reload storm (issue 16 chaos suite), lab "five": 40 SIGHUPs 0.1 s apart to the master.

lb1 (master, priority 200) and lb2 (backup, 100), VRRPv3 advert_int 1 s, the config unchanged.
While the storm lasts and 3 s after, the client pings the VIP every 20 ms, `ip monitor address`
watches both load balancers' eth0 and a capture on the client records the adverts. An unchanged
instance must see no event: no VIP removed or added anywhere, no priority-0 advert, no
transition, no failed request. keepalived 2.2.7 gets the same storm, reported only.
"""
from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from vrrp.vrrp_cases import dump, global_defs, instance, stop_all, vips, vrrp_instance, wait_vips
from vrrp.vrrp_hosts import Daemon, wait_for

LAB_TOPOLOGY = "five"
VIP = "192.0.2.222"
VRID = 122
HUPS, APART = 40, 0.1
INTERVAL = 0.02
SENT = re.compile(r"(\d+) packets transmitted, (\d+) received")
LB1_ADVERT = re.compile(r"^(\d+\.\d+) IP 192\.0\.2\.11 > 224\.0\.0\.18: VRRPv3, Advertisement, vrid \d+, prio (\d+)")
DONE = {"pykeepalived": "reload done", "keepalived": "Reload complete"}


@dataclass
class Storm:
    kind: str
    reloads: int  # reloads the parent logged as done (HUPs may coalesce)
    vip_events: int  # VIP added or removed on lb1 or lb2
    prio0: int  # priority-0 adverts from lb1
    longest_advert_gap: float  # between lb1's adverts, s
    failed: int
    sent: int
    transitions: int | None  # lb1's instance during the storm (ours: from its dumped counters)


def storm(lab, kind: str, log_dir: Path) -> Storm:
    def make(host: str, priority: int) -> Daemon:
        return Daemon(lab, host, kind, f"rs-{kind[:2]}-{host}",
                      global_defs() + instance("VI_1", VRID, priority, f"{VIP}/24", advert=1))

    master, backup = make("lb1", 200), make("lb2", 100)
    monitors: list[subprocess.Popen] = []
    try:
        backup.start(log_dir)
        master.start(log_dir)
        wait_vips(lab, "lb1", {VIP}, 15)
        wait_vips(lab, "lb2", {VIP}, 15, absent=True)
        log = log_dir / f"lb1-{master.name}.log"
        if kind == "pykeepalived":  # a HUP before the children are up is not a reload (vrrp_behaviour)
            wait_for(lambda: "children up" in log.read_text(errors="replace"), 15, "lb1's children never came up")
        before = log.read_text(errors="replace").count(DONE[kind])
        trans = vrrp_instance(dump(master), "VI_1")["counters"]["transitions"] if kind == "pykeepalived" else None
        watched = {h: (log_dir / f"monitor-{kind}-{h}.log").open("w") for h in ("lb1", "lb2")}
        monitors = [lab.popen(h, ["ip", "-4", "-o", "monitor", "address", "dev", "eth0"], stdout=f,
                              stderr=subprocess.STDOUT) for h, f in watched.items()]
        count = int((HUPS * APART + 3) / INTERVAL)
        with lab.capture("client", "eth0", "ip proto 112") as cap:
            ping = lab.popen("client", ["ping", "-n", "-q", "-i", f"{INTERVAL:g}", "-c", str(count), "-W", "1", VIP],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            parent = master.pids()[0]  # the parent only: it tells its children
            for _hup in range(HUPS):
                lab.exec("lb1", ["kill", "-HUP", parent])
                time.sleep(APART)
            out, _err = ping.communicate(timeout=count * INTERVAL + 60)
        got = SENT.search(out)
        assert got, out
        adverts = [(float(m.group(1)), int(m.group(2))) for ln in cap.lines("-tt") if (m := LB1_ADVERT.match(ln))]
        times = [t for t, _prio in adverts]
        events = sum(1 for f in watched.values() for ln in Path(f.name).read_text().splitlines() if f" {VIP}/" in ln)
        assert master.running(), f"{kind} on lb1 died in the reload storm"
        if trans is not None:
            st = vrrp_instance(dump(master), "VI_1")
            trans = st["counters"]["transitions"] - trans if st["state"] == "MASTER" else -1
        return Storm(kind, log.read_text(errors="replace").count(DONE[kind]) - before, events,
                     sum(1 for _t, p in adverts if p == 0),
                     max((b - a for a, b in zip(times, times[1:], strict=False)), default=float("inf")),
                     int(got.group(1)) - int(got.group(2)), int(got.group(1)), trans)
    finally:
        for m in monitors:
            m.kill()
            m.wait()
        stop_all(master, backup)


def row(s: Storm) -> str:
    return (f"| {s.kind} | {HUPS} | {s.reloads} | {s.vip_events} | {s.prio0} | {s.longest_advert_gap:.2f} "
            f"| {s.failed} / {s.sent} |")


@pytest.fixture(scope="module")
def storms() -> list[Storm]:
    return []


@pytest.fixture(scope="module", autouse=True)
def report(storms, write_table):
    yield
    if storms:
        write_table("reload_storm", f"Reload storm: {HUPS} SIGHUPs {APART:g} s apart to the master, config unchanged, "
                                    "VRRPv3 advert_int 1 s, a ping every 20 ms\n\n"
                                    "| daemon | HUPs | reloads done | VIP events | priority-0 adverts "
                                    "| longest gap between adverts, s | failed requests |\n"
                                    "| --- | --- | --- | --- | --- | --- | --- |\n"
                                    + "\n".join(row(s) for s in storms) + "\n")


def test_pykeepalived_reload_storm_moves_nothing(lab, storms, tmp_path: Path) -> None:
    s = storm(lab, "pykeepalived", tmp_path)
    storms.append(s)
    assert s.reloads >= 1 and s.vip_events == 0 and s.prio0 == 0 and s.failed == 0 and s.transitions == 0, s
    assert s.longest_advert_gap < 1.5, s  # advert_int 1 s: a stalled instance would miss one
    assert VIP not in vips(lab, "lb1") and VIP not in vips(lab, "lb2")


@pytest.mark.usefixtures("keepalived_measured")
def test_keepalived_reload_storm_measured(lab, storms, tmp_path: Path) -> None:
    s = storm(lab, "keepalived", tmp_path)
    storms.append(s)
    assert s.sent > 0
