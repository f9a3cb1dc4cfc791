"""VMAC (use_vmac) against Debian's keepalived 2.2.7 (built with VRRP_VMAC), both ways, and between two pykeepalived.

Per case: the master holds the VIP on its macvlan ``vrrp.VRID`` (mode private,
MAC 00:00:5e:00:01:VRID) and the client's ARP cache maps the VIP to that MAC;
kill -9 of the master (failover to the backup) and its restart (preemption:
failover back) each run under a 10 ms ping from the client, which counts the
requests lost; the client's ARP entry is the virtual MAC before and after each
failover, and every ARP the client saw for the VIP carried it.  Our side must
also set keepalived's sysctls (VMAC: arp_ignore 1, accept_local 1, rp_filter 0;
base: arp_ignore 1, arp_filter 1, restored at stop), adopt its own VMAC after
kill -9 (same ifindex) and delete it at stop.  The measured numbers are printed
(``-s``) for the report: ``VMAC-FAILOVER ...`` lines.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pykeepalived.vrrp.timers import master_down_interval

from .ping_probe import finish_ping, start_ping
from .vrrp_hosts import Daemon, conf, wait_for

LAB_TOPOLOGY = "five"
VIP = "192.0.2.210"
ADVERT = 0.2
PING_INTERVAL = 0.01
MAC = re.compile(r"\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b")


def vmac_of(vrid: int) -> str:
    return f"00:00:5e:00:01:{vrid:02x}"


def link(lab, host: str, name: str) -> dict | None:
    out = lab.exec(host, ["ip", "-d", "-j", "link", "show", "dev", name], check=False)
    return json.loads(out.stdout)[0] if out.returncode == 0 and out.stdout.strip() else None


def has_vip_on(lab, host: str, dev: str) -> bool:
    return f" {VIP}/" in lab.exec(host, ["ip", "-o", "-4", "addr", "show", "dev", dev], check=False).stdout


def vip_anywhere(lab, host: str) -> bool:
    return f" {VIP}/" in lab.exec(host, ["ip", "-o", "-4", "addr", "show"]).stdout


def sysctl(lab, host: str, dev: str, key: str) -> int:
    return int(lab.exec(host, ["cat", f"/proc/sys/net/ipv4/conf/{dev}/{key}"]).stdout)


def client_mac(lab) -> str | None:
    """The client's ARP entry for the VIP (None: none)."""
    entries = json.loads(lab.exec("client", ["ip", "-j", "neigh", "show", VIP, "dev", "eth0"]).stdout or "[]")
    return entries[0].get("lladdr") if entries else None


def reachable(lab) -> bool:
    return lab.exec("client", ["ping", "-n", "-c", "3", "-i", "0.2", "-w", "3", VIP], check=False).returncode == 0


def failover(lab, vrid: int, action, to_host: str, label: str, from_host: str) -> dict:
    """Run ``action`` under a 10 ms ping until ``to_host`` holds the VIP on its VMAC; the numbers."""
    dev = f"vrrp.{vrid}"
    before = client_mac(lab)
    with lab.capture("client", "eth0", "arp") as cap:
        probe = start_ping(lab, VIP, PING_INTERVAL, 500)  # 5 s
        action()
        wait_for(lambda: has_vip_on(lab, to_host, dev), 10, f"{VIP} never reached {to_host} {dev}")
        wait_for(lambda: not vip_anywhere(lab, from_host), 10, f"{VIP} stayed on {from_host}")
        result = finish_ping(probe, 30)
    after = client_mac(lab)
    arp = [ln for ln in cap.lines("-e") if VIP in ln]
    macs = {m for ln in arp for m in MAC.findall(ln)} - {"ff:ff:ff:ff:ff:ff"}
    print(f"VMAC-FAILOVER {label}: lost {result.failed}/{result.sent} pings at {PING_INTERVAL * 1000:g} ms, "
          f"longest gap {result.longest_gap * 1000:.0f} ms, client ARP {before} -> {after}, "
          f"ARP frames for the VIP: {len(arp)} from {sorted(macs)}")
    assert before == after == vmac_of(vrid), f"client ARP entry changed: {before} -> {after}"
    assert macs <= {vmac_of(vrid), "00:00:00:00:00:00"} | client_macs(lab), f"ARP for the VIP from {macs}: {arp}"
    assert result.failed < result.sent, "the VIP never answered"
    assert reachable(lab)
    return {"lost": result.failed, "gap": result.longest_gap}


def client_macs(lab) -> set[str]:
    return {link(lab, "client", "eth0")["address"]}


def check_our_vmac(lab, host: str, vrid: int) -> None:
    dev = f"vrrp.{vrid}"
    # a slow start: the link is made down and brought up once configured (net/vmac.py)
    wait_for(lambda: "UP" in (link(lab, host, dev) or {}).get("flags", []), 15, f"no {dev} up on {host}")
    got = link(lab, host, dev)
    info = got["linkinfo"]
    assert info["info_kind"] == "macvlan" and info["info_data"]["mode"] == "private", info
    assert got["address"] == vmac_of(vrid) and got["link"] == "eth0" and "UP" in got["flags"], got
    assert [sysctl(lab, host, dev, k) for k in ("arp_ignore", "accept_local", "rp_filter", "promote_secondaries")] \
        == [1, 1, 0, 1]
    assert (sysctl(lab, host, "eth0", "arp_ignore"), sysctl(lab, host, "eth0", "arp_filter")) == (1, 1)


def vmac_conf(vrid: int, priority: int, state: str = "BACKUP", extra: str = "") -> str:
    return conf(vrid, priority, VIP, advert_int=ADVERT, state=state, extra="    use_vmac\n" + extra)


@pytest.fixture
def base_sysctls(lab):
    """eth0's arp_ignore/arp_filter on both routers before the test (what a stop must restore),
    with arp_announce 2 on eth0 for the test's length.

    Without it a master asks for the client's MAC from eth0 with the VIP as sender
    ("who-has CLIENT tell VIP", eth0's MAC: the reply to the client is routed out of eth0),
    and the client's entry for the VIP takes eth0's MAC: keepalived 2.2.7 and we alike
    (seen in this lab; docs/config-reference.md, VMAC).  arp_announce 2 makes that
    request's sender eth0's own address, the operator's setting for a stable cache."""
    before = {h: (sysctl(lab, h, "eth0", "arp_ignore"), sysctl(lab, h, "eth0", "arp_filter")) for h in ("lb1", "lb2")}
    announce = {h: sysctl(lab, h, "eth0", "arp_announce") for h in ("lb1", "lb2")}
    for h in announce:
        lab.exec(h, ["sysctl", "-qw", "net.ipv4.conf.eth0.arp_announce=2"])
    yield before
    for h, value in announce.items():
        lab.exec(h, ["sysctl", "-qw", f"net.ipv4.conf.eth0.arp_announce={value}"])


def run_pair(lab, logs: Path, master: Daemon, backup: Daemon, vrid: int, base_sysctls: dict) -> None:
    dev = f"vrrp.{vrid}"
    mdi = master_down_interval(3, 100, ADVERT)
    lab.exec("client", ["ip", "neigh", "flush", "dev", "eth0"])
    try:
        backup.start(logs)
        master.start(logs)
        wait_for(lambda: has_vip_on(lab, "lb1", dev), 3 * mdi + 10, f"{VIP} never on lb1 {dev}")
        assert not vip_anywhere(lab, "lb2")
        for d in (master, backup):
            if d.kind == "pykeepalived":
                check_our_vmac(lab, d.host, vrid)
        assert link(lab, "lb2", dev)["address"] == vmac_of(vrid)  # the backup's VMAC is up too, without the VIP
        with lab.capture("client", "eth0", "arp") as cap:
            assert reachable(lab)
        macs = {h: link(lab, h, "eth0")["address"] for h in ("lb1", "lb2")}
        assert client_mac(lab) == vmac_of(vrid), (macs, cap.lines("-e"))
        first_index = link(lab, "lb1", dev)["ifindex"]

        stats = failover(lab, vrid, lambda: kill_and_clean(lab, master, dev), "lb2",
                         f"kill -9 of {master.kind} master -> {backup.kind} takes over", "lb1")
        assert stats["gap"] <= mdi + 1.0

        failover(lab, vrid, lambda: master.start(logs), "lb1",
                 f"{master.kind} restarted, preempts {backup.kind}", "lb2")
        if master.kind == "pykeepalived":  # its own VMAC, left by kill -9, adopted (not recreated)
            assert link(lab, "lb1", dev)["ifindex"] == first_index
            check_our_vmac(lab, "lb1", vrid)
    finally:
        for d in (master, backup):
            if d.running():
                d.stop()
    for d in (master, backup):
        assert not vip_anywhere(lab, d.host), f"a VIP was left on {d.host}"
        if d.kind == "pykeepalived":
            assert link(lab, d.host, dev) is None, f"{dev} left on {d.host}"
            assert (sysctl(lab, d.host, "eth0", "arp_ignore"), sysctl(lab, d.host, "eth0", "arp_filter")) \
                == base_sysctls[d.host], "eth0's arp sysctls not restored"
        else:  # keepalived deletes its VMAC at stop too; make sure the next case starts clean
            lab.exec(d.host, ["ip", "link", "del", dev], check=False)
            for key, value in zip(("arp_ignore", "arp_filter"), base_sysctls[d.host], strict=True):
                lab.exec(d.host, ["sysctl", "-qw", f"net.ipv4.conf.eth0.{key}={value}"])


def kill_and_clean(lab, master: Daemon, dev: str) -> None:
    """kill -9 and, in the same shell, remove the VIP it left on its VMAC (the other interop tests
    remove it too; at once, so the loss counts from the master's death), never the VMAC itself."""
    pids = master.pids()
    lab.exec(master.host, ["sh", "-c", f"kill -KILL {' '.join(pids)}; ip addr del {VIP}/24 dev {dev}"], check=False)
    wait_for(lambda: not master.running(), 5, "the killed master is still running")


@pytest.mark.parametrize("master_kind", ["pykeepalived", "keepalived"])
def test_vmac_mixed_pair(lab, tmp_path: Path, base_sysctls, master_kind: str) -> None:
    backup_kind = "keepalived" if master_kind == "pykeepalived" else "pykeepalived"
    vrid = 51 if master_kind == "pykeepalived" else 52
    master = Daemon(lab, "lb1", master_kind, f"vmac-m{vrid}", vmac_conf(vrid, 150, "MASTER"))
    backup = Daemon(lab, "lb2", backup_kind, f"vmac-b{vrid}", vmac_conf(vrid, 100))
    run_pair(lab, tmp_path, master, backup, vrid, base_sysctls)


def test_vmac_pykeepalived_pair(lab, tmp_path: Path, base_sysctls) -> None:
    vrid = 53
    master = Daemon(lab, "lb1", "pykeepalived", f"vmac-m{vrid}", vmac_conf(vrid, 150, "MASTER"))
    backup = Daemon(lab, "lb2", "pykeepalived", f"vmac-b{vrid}", vmac_conf(vrid, 100))
    run_pair(lab, tmp_path, master, backup, vrid, base_sysctls)


def test_vmac_xmit_base_and_foreign_link(lab, tmp_path: Path, base_sysctls) -> None:
    """vmac_xmit_base: adverts leave eth0 with eth0's MAC, the VIP and its GARPs stay on the VMAC;
    a same-named link the daemon did not create is refused and left alone."""
    vrid, dev = 54, "vrrp.54"
    ours = Daemon(lab, "lb1", "pykeepalived", "vmac-x", vmac_conf(vrid, 150, "MASTER", "    vmac_xmit_base\n"))
    eth0_mac = link(lab, "lb1", "eth0")["address"]
    try:
        with lab.capture("client", "eth0", "vrrp or arp") as cap:
            ours.start(tmp_path)
            wait_for(lambda: has_vip_on(lab, "lb1", dev), 15, f"{VIP} never on lb1 {dev}")
            assert reachable(lab)
        adverts = [ln for ln in cap.lines("-e") if "VRRP" in ln]
        assert adverts and all(ln.split()[1] == eth0_mac for ln in adverts), adverts[:3]
        garps = [ln for ln in cap.lines("-e") if f"tell {VIP}" in ln]
        assert garps and all(ln.split()[1] == vmac_of(vrid) for ln in garps), garps[:3]
    finally:
        if ours.running():
            ours.stop()
    assert link(lab, "lb1", dev) is None

    lab.exec("lb1", ["ip", "link", "add", "link", "eth0", "name", dev, "type", "macvlan", "mode", "private"])
    try:
        index = link(lab, "lb1", dev)["ifindex"]
        refused = Daemon(lab, "lb1", "pykeepalived", "vmac-f", vmac_conf(vrid, 150, "MASTER"))
        log = tmp_path / "lb1-vmac-f.log"
        refused.start(tmp_path, ready=False)  # its VRRP child refuses to start
        try:
            wait_for(lambda: "not created by pykeepalived" in log.read_text(), 30, "no refusal logged")
        finally:
            refused.stop()
        assert link(lab, "lb1", dev)["ifindex"] == index  # still there, untouched
    finally:
        lab.exec("lb1", ["ip", "link", "del", dev], check=False)


VIP6 = "2001:db8:5::210"


def test_vmac_ipv6_pykeepalived_pair(lab, tmp_path: Path) -> None:
    """IPv6: the VMAC is 00:00:5e:00:02:VRID, carries the base's link-local (the adverts' source) and
    the VIP; the client's neighbour entry is the virtual MAC, and stays it across a kill -9 failover."""
    vrid, dev = 55, "vrrp.55"
    mac6 = f"00:00:5e:00:02:{vrid:02x}"

    def conf6(priority: int, state: str) -> str:
        return conf(vrid, priority, VIP6, advert_int=ADVERT, state=state, extra="    use_vmac\n").replace(
            f"{VIP6}/24", f"{VIP6}/64")

    def has6(host: str) -> bool:
        return f" {VIP6}/64" in lab.exec(host, ["ip", "-o", "-6", "addr", "show", "dev", dev], check=False).stdout

    def neigh6() -> str | None:
        entries = json.loads(lab.exec("client", ["ip", "-j", "-6", "neigh", "show", VIP6, "dev", "eth0"]).stdout or "[]")
        return entries[0].get("lladdr") if entries else None

    def ping6() -> bool:
        return lab.exec("client", ["ping", "-6", "-n", "-c", "3", "-i", "0.2", "-w", "4", VIP6],
                        check=False).returncode == 0

    lab.exec("client", ["ip", "-6", "addr", "replace", "2001:db8:5::100/64", "dev", "eth0", "nodad"])
    master = Daemon(lab, "lb1", "pykeepalived", "vmac6-m", conf6(150, "MASTER"))
    backup = Daemon(lab, "lb2", "pykeepalived", "vmac6-b", conf6(100, "BACKUP"))
    try:
        backup.start(tmp_path)
        master.start(tmp_path)
        wait_for(lambda: has6("lb1"), 20, f"{VIP6} never on lb1 {dev}")
        base_ll = [a["local"] for a in link_addrs(lab, "lb1", "eth0") if a["local"].startswith("fe80:")]
        vmac_ll = [a["local"] for a in link_addrs(lab, "lb1", dev) if a["local"].startswith("fe80:")]
        assert link(lab, "lb1", dev)["address"] == mac6 and vmac_ll == base_ll, (vmac_ll, base_ll)
        with lab.capture("client", "eth0", "icmp6") as cap6:
            ok = ping6()
        diag = [lab.exec("lb1", ["ip", "-6", "addr", "show", "dev", dev]).stdout,
                lab.exec("client", ["ip", "-6", "neigh"]).stdout, lab.exec("lb1", ["ip", "-6", "route"]).stdout,
                "\n".join(cap6.lines("-e")[:30])]
        assert ok and neigh6() == mac6, "\n".join(diag)
        pids = master.pids()
        lab.exec("lb1", ["sh", "-c", f"kill -KILL {' '.join(pids)}; ip addr del {VIP6}/64 dev {dev}"], check=False)
        wait_for(lambda: has6("lb2"), 10, f"{VIP6} never reached lb2")
        assert ping6()
        assert neigh6() == mac6, f"client neighbour entry for {VIP6}: {neigh6()}"
    finally:
        for d in (master, backup):
            if d.running():
                d.stop()
        lab.exec("lb1", ["ip", "link", "del", dev], check=False)  # kill -9 left lb1's
        lab.exec("client", ["ip", "-6", "addr", "del", "2001:db8:5::100/64", "dev", "eth0"], check=False)
    assert link(lab, "lb2", dev) is None


def link_addrs(lab, host: str, dev: str) -> list[dict]:
    out = json.loads(lab.exec(host, ["ip", "-j", "-6", "addr", "show", "dev", dev]).stdout or "[]")
    return out[0].get("addr_info", []) if out else []
