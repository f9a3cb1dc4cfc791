"""static_/virtual_ routes and rules on real hosts (lab "five": lb1, lb2).

The virtual ones appear on the master only, move with the VIP when it fails
over and back (a preempted master removes them while it keeps running), the
static ones stay on both hosts while the daemons run, and everything goes at
stop.  Routes and rules the operator put there before (one with the same
destination as a virtual route, one unrelated) are never touched.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from .vrrp_hosts import Daemon, conf, has_vip, wait_for, wait_vip

LAB_TOPOLOGY = "five"
VIP = "192.0.2.200"
EXCLUDED = "198.51.100.200"
ADVERT = 0.2

ROUTING = """    virtual_ipaddress_excluded {
        198.51.100.200/24
    }
    virtual_routes {
        203.0.113.0/24 via 192.0.2.21 dev eth0
        10.77.0.0/16 via 192.0.2.22 dev eth0 table 77
        blackhole 10.66.0.0/16
        src 192.0.2.200 10.55.0.0/16 via 192.0.2.21 dev eth0
    }
    virtual_rules {
        from 192.0.2.200 table 77 priority 777
    }
"""


def static(host_address: str) -> str:
    return f"""static_ipaddress {{
    {host_address}/32 dev eth0
}}
static_routes {{
    10.88.0.0/16 via 192.0.2.21 dev eth0
}}
static_rules {{
    from 10.88.0.0/16 table 88 priority 888
}}
"""


VIRTUAL = {"203.0.113.0/24 via 192.0.2.21 dev eth0 proto keepalived",
           "10.77.0.0/16 via 192.0.2.22 dev eth0 table 77 proto keepalived",
           "blackhole 10.66.0.0/16 proto keepalived",
           "10.55.0.0/16 via 192.0.2.21 dev eth0 proto keepalived src 192.0.2.200",
           "777: from 192.0.2.200 lookup 77 proto keepalived"}
STATIC = {"10.88.0.0/16 via 192.0.2.21 dev eth0 proto keepalived",
          "888: from 10.88.0.0/16 lookup 88 proto keepalived"}
# the operator's, put there before the daemons start: never ours, never removed
OPERATORS = ({"10.66.0.0/16 via 192.0.2.22 dev eth0", "10.44.0.0/16 via 192.0.2.22 dev eth0",
              "444: from 10.44.0.0/16 lookup 44"})


def routing(lab, host: str) -> set[str]:
    """The host's IPv4 routes (every table, non-local) and rules, one normalised line each."""
    out = lab.exec(host, ["sh", "-c", "ip -4 route show table all; ip -4 rule"]).stdout
    return {" ".join(line.split()) for line in out.splitlines()
            if line and not line.startswith(("local ", "broadcast "))}


def wait_routing(lab, host: str, present: set[str], absent: set[str] = frozenset(), timeout: float = 5) -> None:
    def ok() -> bool:
        now = routing(lab, host)
        return present <= now and not (absent & now)
    try:
        wait_for(ok, timeout, "")
    except AssertionError:
        now = routing(lab, host)
        raise AssertionError(f"{host}: missing {sorted(present - now)}, still there {sorted(absent & now)}") from None


@pytest.fixture
def hosts(lab, tmp_path: Path):
    lab.exec("lb1", ["sh", "-c", "ip route add 10.66.0.0/16 via 192.0.2.22 dev eth0; "
                                 "ip route add 10.44.0.0/16 via 192.0.2.22 dev eth0; "
                                 "ip rule add from 10.44.0.0/16 table 44 priority 444"])
    master = Daemon(lab, "lb1", "pykeepalived", "rt-m", static("198.51.100.11") +
                    conf(70, 150, VIP, state="MASTER", advert_int=ADVERT, extra=ROUTING))
    backup = Daemon(lab, "lb2", "pykeepalived", "rt-b", static("198.51.100.12") +
                    conf(70, 100, VIP, advert_int=ADVERT, extra=ROUTING))
    yield master, backup, tmp_path
    for d in (master, backup):
        if d.running():
            d.stop()
    lab.exec("lb1", ["sh", "-c", "ip route del 10.66.0.0/16 via 192.0.2.22 dev eth0; "
                                 "ip route del 10.44.0.0/16; ip rule del priority 444"], check=False)


def test_routes_and_rules_follow_the_master(lab, hosts) -> None:
    master, backup, logs = hosts
    ours_on_lb1 = VIRTUAL - {"blackhole 10.66.0.0/16 proto keepalived"}  # the operator's 10.66/16 was there
    backup.start(logs)
    master.start(logs)
    wait_vip(lab, "lb1", VIP, 15)
    wait_routing(lab, "lb1", ours_on_lb1 | STATIC | OPERATORS, {"blackhole 10.66.0.0/16 proto keepalived"})
    wait_routing(lab, "lb2", STATIC, VIRTUAL)
    for host, addr in (("lb1", "198.51.100.11"), ("lb2", "198.51.100.12")):
        assert has_static(lab, host, addr)
    assert has_vip(lab, "lb1", EXCLUDED) and not has_vip(lab, "lb2", EXCLUDED)  # virtual_ipaddress_excluded

    # the master stops: its virtual routes and rules leave with the VIP, its static ones at exit
    master.stop()
    wait_vip(lab, "lb2", VIP, 5)
    wait_vip(lab, "lb2", EXCLUDED, 2)
    wait_routing(lab, "lb2", VIRTUAL | STATIC)
    wait_routing(lab, "lb1", OPERATORS, VIRTUAL | STATIC)
    assert not has_static(lab, "lb1", "198.51.100.11")

    # it comes back and preempts: the running backup removes its virtual ones, keeps the static ones
    master.start(logs)
    wait_vip(lab, "lb1", VIP, 15)
    wait_vip(lab, "lb2", VIP, 5, present=False)
    wait_routing(lab, "lb2", STATIC, VIRTUAL)
    wait_routing(lab, "lb1", ours_on_lb1 | STATIC | OPERATORS)
    wait_vip(lab, "lb2", EXCLUDED, 2, present=False)

    # a reload (HUP) that changes the static routes: the old one goes, the new one comes
    backup.config = backup.config.replace("10.88.0.0/16 via", "10.87.0.0/16 via")
    backup.write_config()
    backup.kill("HUP")
    moved = "10.87.0.0/16 via 192.0.2.21 dev eth0 proto keepalived"
    wait_routing(lab, "lb2", {moved}, {"10.88.0.0/16 via 192.0.2.21 dev eth0 proto keepalived"})

    # a reload that changes only a virtual route: swapped in place, the master stays master
    old_route = "203.0.113.0/24 via 192.0.2.21 dev eth0 proto keepalived"
    new_route = "203.0.112.0/24 via 192.0.2.21 dev eth0 proto keepalived"
    for d in (master, backup):
        d.config = d.config.replace("203.0.113.0/24 via", "203.0.112.0/24 via")
        d.write_config()
        d.kill("HUP")
    wait_routing(lab, "lb1", {new_route}, {old_route})
    master_log = logs / "lb1-rt-m.log"
    wait_for(lambda: "(VI_70) virtual routes/rules reloaded" in master_log.read_text(), 5, "no reload logged")
    assert "(VI_70) changed: stopping" not in master_log.read_text()
    assert has_vip(lab, "lb1", VIP) and not has_vip(lab, "lb2", VIP)
    assert new_route not in routing(lab, "lb2")

    master.stop()
    backup.stop()
    for host in ("lb1", "lb2"):
        wait_routing(lab, host, set(), VIRTUAL | STATIC | {moved, new_route}, timeout=2)
    assert routing(lab, "lb1") >= OPERATORS, "the operator's routes or rules were touched"
    assert not has_static(lab, "lb2", "198.51.100.12")


def has_static(lab, host: str, address: str) -> bool:
    return f" {address}/32 " in lab.exec(host, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout


TRACKED = """    virtual_routes {
        10.99.0.0/16 dev rt0
        10.98.0.0/16 via 192.0.2.21 dev eth0 no_track
    }
"""


def test_a_virtual_routes_interface_is_tracked(lab, tmp_path: Path) -> None:
    """keepalived's rule: the route's interface down puts the instance in FAULT (the VIP moves);
    back up, the master preempts again."""
    for host in ("lb1", "lb2"):
        lab.exec(host, ["sh", "-c", "ip link add rt0 type veth peer name rt0p && ip link set rt0p up "
                                    "&& ip link set rt0 up"])
    master = Daemon(lab, "lb1", "pykeepalived", "trk-m", conf(71, 150, VIP, state="MASTER", advert_int=ADVERT,
                                                             extra=TRACKED))
    backup = Daemon(lab, "lb2", "pykeepalived", "trk-b", conf(71, 100, VIP, advert_int=ADVERT, extra=TRACKED))
    route = "10.99.0.0/16 dev rt0 proto keepalived scope link"
    try:
        backup.start(tmp_path)
        master.start(tmp_path)
        wait_vip(lab, "lb1", VIP, 15)
        wait_routing(lab, "lb1", {route})
        lab.exec("lb1", ["ip", "link", "set", "rt0", "down"])
        wait_vip(lab, "lb2", VIP, 5)
        wait_vip(lab, "lb1", VIP, 2, present=False)
        wait_routing(lab, "lb2", {route})
        lab.exec("lb1", ["ip", "link", "set", "rt0", "up"])
        wait_vip(lab, "lb1", VIP, 5)
        wait_routing(lab, "lb1", {route})
        wait_routing(lab, "lb2", set(), {route})
    finally:
        for d in (master, backup):
            if d.running():
                d.stop()
        for host in ("lb1", "lb2"):
            lab.exec(host, ["ip", "link", "del", "rt0"], check=False)
    assert not has_vip(lab, "lb1", VIP) and not has_vip(lab, "lb2", VIP)


def test_a_crashed_masters_routes_are_adopted_and_removed(lab, hosts) -> None:
    """kill -9 leaves the VIP and the virtual routes on lb1; restarted (now at a lower priority,
    so a backup) it adopts what its record says it added and removes it; the operator's stay."""
    master, backup, logs = hosts
    ours_on_lb1 = VIRTUAL - {"blackhole 10.66.0.0/16 proto keepalived"}
    backup.start(logs)
    master.start(logs)
    wait_vip(lab, "lb1", VIP, 15)
    wait_routing(lab, "lb1", ours_on_lb1 | STATIC)
    master.kill("KILL")
    wait_vip(lab, "lb2", VIP, 5)
    assert ours_on_lb1 | STATIC <= routing(lab, "lb1")  # what the crash left
    restarted = Daemon(lab, "lb1", "pykeepalived", "rt-m", master.config.replace("priority 150", "priority 50")
                       .replace("state MASTER", "state BACKUP"))
    try:
        restarted.start(logs)
        wait_vip(lab, "lb1", VIP, 10, present=False)
        wait_routing(lab, "lb1", STATIC | OPERATORS, VIRTUAL, timeout=10)
        assert has_vip(lab, "lb2", VIP)
    finally:
        restarted.stop()
    wait_routing(lab, "lb1", OPERATORS, VIRTUAL | STATIC, timeout=2)
