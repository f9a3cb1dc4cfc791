"""20,000 malformed and hostile VRRP packets from the client (issue 16 chaos suite), lab "five".

A pykeepalived pair (lb1 master, lb2 backup, VRRPv3 advert_int 1 s) while the client sends, paced
at RATE per second, nine kinds interleaved (tests/chaos/flood.py), each claiming priority 254 for
the pair's VRID: off-link (TTL 64), non-peer (to lb1's own address), bad checksum, version 4,
type 2, truncated, interval 0, two addresses, a wrong address. None may cause a transition; every
packet is counted under its reason, or as a kernel drop of the raw socket (/proc/net/raw: a
daemon that fell behind loses packets there, it does not misjudge them).
"""
from __future__ import annotations

import sys
from pathlib import Path

from vrrp.vrrp_cases import dump, global_defs, instance, stop_all, vips, vrrp_instance, wait_vips
from vrrp.vrrp_hosts import Daemon, wait_for

LAB_TOPOLOGY = "five"
VIP = "192.0.2.221"
VRID = 121
TOTAL, RATE = 20_000, 2_000
FLOOD = str(Path(__file__).with_name("flood.py"))
REASON = {"off-link (TTL 64)": "ttl", "non-peer (to our address)": "destination", "bad checksum": "checksum",
          "version 4": "version", "type 2": "type", "truncated": "length", "interval 0": "interval",
          "two addresses": "address_count", "wrong address": "address_list"}


def raw_drops(lab, host: str) -> int:
    """The kernel's drop count over the host's raw sockets for protocol 112 (port field 0x70)."""
    rows = lab.exec(host, ["cat", "/proc/net/raw"]).stdout.splitlines()[1:]
    return sum(int(r.split()[-1]) for r in rows if r.split()[1].endswith(":0070"))


def snapshot(lab, d: Daemon) -> tuple[dict, int]:
    return vrrp_instance(dump(d), "VI_1")["counters"], raw_drops(lab, d.host)


def test_hostile_packets_cause_no_transition_and_are_counted(lab, write_table, tmp_path: Path) -> None:
    m = Daemon(lab, "lb1", "pykeepalived", "hp-m", global_defs() + instance("VI_1", VRID, 200, f"{VIP}/24", advert=1))
    b = Daemon(lab, "lb2", "pykeepalived", "hp-b", global_defs() + instance("VI_1", VRID, 100, f"{VIP}/24", advert=1))
    try:
        b.start(tmp_path)
        m.start(tmp_path)
        wait_vips(lab, "lb1", {VIP}, 15)
        wait_vips(lab, "lb2", {VIP}, 15, absent=True)
        before = {d.host: snapshot(lab, d) for d in (m, b)}
        out = lab.exec("client", [sys.executable, FLOOD, "192.0.2.100", "192.0.2.11", str(VRID), VIP,
                                  str(TOTAL), str(RATE)], timeout=TOTAL / RATE * 10 + 60).stdout
        sent = {kind: int(n) for kind, n in (line.split("\t") for line in out.splitlines())}
        expected = {"lb1": sum(sent.values()), "lb2": sum(n for k, n in sent.items() if k != "non-peer (to our address)")}
        after: dict[str, tuple[dict, int]] = {}

        def settled() -> bool:  # every packet judged or dropped by the kernel (the real condition)
            for d in (m, b):
                after[d.host] = snapshot(lab, d)
                counted = sum(after[d.host][0]["drops"].values()) - sum(before[d.host][0]["drops"].values())
                own = after[d.host][0]["drops"]["own"] - before[d.host][0]["drops"]["own"]
                if counted - own + after[d.host][1] - before[d.host][1] < expected[d.host]:
                    return False
            return True

        wait_for(settled, 30, f"not every forged packet was accounted for: {after}")
        rows = []
        for kind, reason in REASON.items():
            cells = [str(after[h][0]["drops"][reason] - before[h][0]["drops"][reason]) for h in ("lb1", "lb2")]
            rows.append(f"| {kind} | {sent[kind]} | {reason} | {' | '.join(cells)} |")
        kernel = [str(after[h][1] - before[h][1]) for h in ("lb1", "lb2")]
        write_table("hostile_packets",
                    f"Hostile packets: {sum(sent.values())} from the client at {RATE} per second, pykeepalived pair\n\n"
                    "| kind | sent | reason | lb1 counted | lb2 counted |\n| --- | --- | --- | --- | --- |\n"
                    + "\n".join(rows) + f"\n| kernel drops (raw socket) | | | {' | '.join(kernel)} |\n")
        for d, state in ((m, "MASTER"), (b, "BACKUP")):
            st = vrrp_instance(dump(d), "VI_1")
            assert st["state"] == state, f"{d.host}: {st['state']}"
            assert st["counters"]["transitions"] == before[d.host][0]["transitions"], f"{d.host} changed state"
        assert VIP in vips(lab, "lb1") and VIP not in vips(lab, "lb2")
        for h in ("lb1", "lb2"):  # each kind under its own reason; a kernel drop may stand for any kind
            lost = after[h][1] - before[h][1]
            for kind, reason in REASON.items():
                want = 0 if (h, kind) == ("lb2", "non-peer (to our address)") else sent[kind]
                got = after[h][0]["drops"][reason] - before[h][0]["drops"][reason]
                assert want - lost <= got <= want, f"{h}: {kind} counted {got} times as {reason}, sent {want}"
    finally:
        stop_all(m, b)
