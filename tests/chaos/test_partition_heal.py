"""Partition and heal (issue 16 item 5), lab "five": a split brain must heal without failed requests.

lb1 (priority 200, the winner) and lb2 (priority 100, the loser) run VRRPv3 at advert_int 1 s.
Each run drops VRRP in and out of lb2 (nft inside lb2 only): lb2 becomes MASTER too and its
gratuitous ARP moves the client to lb2's MAC. Then the partition heals at a chosen moment:

- ``winner first``: right after lb2's own advert was dropped, so lb1's next advert reaches lb2
  before lb2 advertises again. keepalived's lb2 yields silently and lb1, master all along, has no
  reason to send a GARP: the client keeps lb2's MAC (the case of the issue);
- ``loser first``: right after lb1's advert was dropped at lb2, so lb2's advert reaches lb1 first
  and lb1 answers with its lower-priority GARP burst.

Runs alternate, winner first first. From heal + 1 s the client pings the VIP every 20 ms for
WINDOW s; its neighbour entry for the VIP at heal + 1 s must be lb1's MAC (the exact probe:
pings alone could be forwarded by a loser with ip_forward on; the lab hosts have it off, checked).
Which advert crossed first is read from a capture on the client, not assumed.

pykeepalived must lose none in every run; keepalived 2.2.7 runs the same and is reported only.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from vrrp.vrrp_cases import global_defs, instance, stop_all, vips, wait_vips
from vrrp.vrrp_hosts import Daemon, wait_for

LAB_TOPOLOGY = "five"
VIP = "192.0.2.220"
VRID = 120
ADVERT = 1.0
INTERVAL = 0.02  # a request every 20 ms
WINDOW = 3.0  # seconds probed, from heal + 1 s
HOLD = 2.0  # seconds the split brain lasts once the client follows lb2
START = 15  # bounds a first master on a busy machine (times nothing)
TABLE = "hkchaos"
PARTITION = (f"table inet {TABLE} {{\n"
             "  chain in { type filter hook input priority 0; ip protocol 112 counter drop; }\n"
             "  chain out { type filter hook output priority 0; ip protocol 112 counter drop; }\n"
             "}\n")
# inside lb2: wait for the chain's drop counter to move, delete the table at once, print when
HEAL = (f"c() {{ nft list chain inet {TABLE} $1 | grep -o 'packets [0-9]*'; }}; a=$(c $1); "
        "end=$(( $(date +%s) + 10 )); "
        'while [ "$(c $1)" = "$a" ]; do [ $(date +%s) -gt $end ] && exit 1; sleep 0.002; done; '
        f"nft delete table inet {TABLE}; date +%s.%N")
ADVERT_LINE = re.compile(r"^(\d+\.\d+) .*: (192\.0\.2\.1[12]) > 224\.0\.0\.18: VRRPv3")
GARP_LINE = re.compile(rf"^(\d+\.\d+) (\S+) > ff:ff:ff:ff:ff:ff, .*Request who-has {re.escape(VIP)} (?:\(\S+\) )?tell {re.escape(VIP)},")
SENT = re.compile(r"(\d+) packets transmitted, (\d+) received")


@dataclass
class Heal:
    planned: str  # "winner first" | "loser first"
    crossed: str  # which advert crossed first after the heal (from the capture)
    failed: int  # echo requests unanswered from heal + 1 s
    sent: int
    client_on_winner: bool  # the client's neighbour entry for the VIP at heal + 1 s
    winner_garps: int  # gratuitous ARPs for the VIP from lb1 within heal + 1 s


def mac(lab, host: str) -> str:
    words = lab.exec(host, ["ip", "-o", "link", "show", "dev", "eth0"]).stdout.split()
    return words[words.index("link/ether") + 1]


def client_mac(lab) -> str | None:
    words = lab.exec("client", ["ip", "neigh", "show", VIP, "dev", "eth0"]).stdout.split()
    return words[words.index("lladdr") + 1] if "lladdr" in words else None


def crossed_first(lines: list[str], healed: float) -> str:
    """Whose advert came first after the heal: lb2's cannot leave lb2 before it, lb1's can."""
    first = {}
    for line in lines:
        if (m := ADVERT_LINE.match(line)) and float(m.group(1)) > healed:
            first.setdefault(m.group(2), float(m.group(1)))
    lb1, lb2 = first.get("192.0.2.11", float("inf")), first.get("192.0.2.12", float("inf"))
    return "winner first" if lb1 < lb2 else "loser first"


def heal_run(lab, planned: str, winner_mac: str, loser_mac: str, log_dir: Path) -> Heal:
    lab.exec("lb2", ["nft", "-f", "-"], input=PARTITION)
    healed = None
    try:
        wait_vips(lab, "lb2", {VIP}, 10)  # both MASTER: expected
        assert VIP in vips(lab, "lb1"), "lb1 lost the VIP during the partition"
        wait_for(lambda: client_mac(lab) == loser_mac, 5, "the client never followed lb2's GARP")
        time.sleep(HOLD)
        with lab.capture("client", "eth0", "ip proto 112 or arp") as cap:
            # winner first: heal after lb2's advert was dropped; loser first: after lb1's was
            chain = "out" if planned == "winner first" else "in"
            out = lab.exec("lb2", ["sh", "-c", HEAL, "heal", chain], check=False, timeout=30)
            assert out.returncode == 0, f"no VRRP seen on lb2's {chain} chain: {out.stderr}"
            healed = float(out.stdout.split()[-1])
            time.sleep(max(0.0, healed + 1.0 - time.time()))
            on_winner = client_mac(lab) == winner_mac
            count = int(WINDOW / INTERVAL)
            ping = lab.exec("client", ["ping", "-n", "-q", "-i", f"{INTERVAL:g}", "-c", str(count), "-W", "1", VIP],
                            check=False, timeout=WINDOW + 30)
        got = SENT.search(ping.stdout)
        assert got, f"ping printed no summary:\n{ping.stdout}{ping.stderr}"
        lines = cap.lines("-tt", "-e")
        garps = sum(1 for ln in lines if (m := GARP_LINE.match(ln))
                    and m.group(2) == winner_mac and healed < float(m.group(1)) <= healed + 1.0)
        return Heal(planned, crossed_first(lines, healed), int(got.group(1)) - int(got.group(2)),
                    int(got.group(1)), on_winner, garps)
    finally:
        if healed is None:
            lab.exec("lb2", ["nft", "delete", "table", "inet", TABLE], check=False)
        # the split brain is over: lb2 gave the VIP back
        wait_vips(lab, "lb2", {VIP}, 5, absent=True)


def pair(lab, kind: str, tag: str) -> tuple[Daemon, Daemon]:
    def make(host: str, priority: int) -> Daemon:
        return Daemon(lab, host, kind, f"{tag}-{host}", global_defs() +
                      instance("VI_1", VRID, priority, f"{VIP}/24", advert=ADVERT))
    return make("lb1", 200), make("lb2", 100)


def run_all(lab, kind: str, runs: int, log_dir: Path) -> list[Heal]:
    for host in ("lb1", "lb2"):
        forward = lab.exec(host, ["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip()
        assert forward == "0", f"{host} forwards: a stale MAC would not fail the ping"
    winner, loser = pair(lab, kind, f"ph-{kind[:2]}")
    try:
        loser.start(log_dir)
        winner.start(log_dir)
        wait_vips(lab, "lb1", {VIP}, START)
        wait_vips(lab, "lb2", {VIP}, START, absent=True)
        # the client has a neighbour entry for the VIP, as a real client would
        assert lab.exec("client", ["ping", "-n", "-c", "3", "-i", "0.2", "-W", "1", VIP], check=False).returncode == 0
        macs = mac(lab, "lb1"), mac(lab, "lb2")
        plans = ["winner first", "loser first"]
        return [heal_run(lab, plans[n % 2], *macs, log_dir) for n in range(runs)]
    finally:
        stop_all(winner, loser)
        lab.exec("client", ["ip", "neigh", "del", VIP, "dev", "eth0"], check=False)


def table(kind: str, heals: list[Heal]) -> str:
    rows = [f"| {kind} | {n + 1} | {h.planned} | {h.crossed} | {'winner' if h.client_on_winner else 'loser'} "
            f"| {h.winner_garps} | {h.failed} / {h.sent} |" for n, h in enumerate(heals)]
    clean = sum(1 for h in heals if h.failed == 0)
    bad = [h for h in heals if h.crossed == "winner first"]
    return (f"**{kind}**: {clean} of {len(heals)} heals with 0 failed requests from heal + 1 s "
            f"({sum(1 for h in bad if h.failed == 0)} of {len(bad)} where the winner's advert crossed first)\n\n"
            "| daemon | run | heal planned | crossed first | client's MAC at +1 s | winner GARPs in 1 s | failed from +1 s |\n"
            "| --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n")


@pytest.fixture(scope="module")
def results() -> dict[str, list[Heal]]:
    return {}


@pytest.fixture(scope="module", autouse=True)
def report(results, write_table):
    yield
    if results:
        text = "".join(table(kind, heals) + "\n" for kind, heals in results.items())
        write_table("partition_heal", f"Partition and heal, VRRPv3 advert_int {ADVERT:g} s, a ping every "
                                      f"{INTERVAL * 1000:g} ms for {WINDOW:g} s from heal + 1 s\n\n" + text)


def test_pykeepalived_heals_without_failed_requests(lab, chaos_runs, results, tmp_path: Path) -> None:
    heals = results["pykeepalived"] = run_all(lab, "pykeepalived", chaos_runs, tmp_path)
    for n, h in enumerate(heals, 1):
        assert h.client_on_winner, f"run {n} ({h.crossed}): the client still had lb2's MAC at heal + 1 s"
        assert h.failed == 0, f"run {n} ({h.crossed}): {h.failed} of {h.sent} requests failed from heal + 1 s"
    # the case of the issue did happen (the capture says so, not the plan)
    assert any(h.crossed == "winner first" for h in heals), [h.crossed for h in heals]


@pytest.mark.usefixtures("keepalived_measured")
def test_keepalived_measured(lab, chaos_runs, results, tmp_path: Path) -> None:
    """Reported, not asserted: keepalived 2.2.7's pair through the same heals."""
    heals = results["keepalived 2.2.7"] = run_all(lab, "keepalived", chaos_runs, tmp_path)
    assert all(h.sent == int(WINDOW / INTERVAL) for h in heals)
