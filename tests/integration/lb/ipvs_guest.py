"""Runs INSIDE the UML guest (test_ipvs_uml.py boots it): pykeepalived's IPVS plane
programs the kernel in the `lb` netns and traffic from `client` follows it.

Each check reads the kernel (`ipvsadm -Ln` in lb, or a pyroute2 dump) and what
the web servers answered; results go to $HAPAIR_SHARE/lb-checks.json as
{name: [ok, detail]}. Exit 0 when every check passed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # `lab` lives at the repo root

from pyroute2 import netns  # noqa: E402

from lab.checks.ipvs_table import ipvsadm_dests  # noqa: E402
from lab.core import Lab  # noqa: E402
from pykeepalived.config.loader import load_config  # noqa: E402
from pykeepalived.config.model_lvs import Tunnel  # noqa: E402
from pykeepalived.lb.ipvs import IpvsBackend  # noqa: E402
from pykeepalived.lb.plane import LoadBalancer  # noqa: E402
from pykeepalived.lb.table import ServiceKey  # noqa: E402

WEBS = ("web1", "web2", "web3")
NAT_VS, DR_VS = "TCP 192.0.2.80:80", "TCP 192.0.2.81:8080"
WORK = Path("/tmp/lbplane")  # the guest's tmpfs
CLIENT = """
import sys, urllib.request
out = []
for _ in range(int(sys.argv[2])):
    try:
        out.append(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode().strip())
    except Exception as exc:
        out.append("ERR " + type(exc).__name__)
print(" ".join(out))
"""


TUN_VS = """virtual_server 192.0.2.82 8080 {
  protocol TCP
  lvs_method TUN type gue port 6080 csum
  real_server 198.51.100.11 8080 { }
  real_server 198.51.100.12 8080 { lvs_method TUN type gre }
}
"""


FLAGS_VS = """virtual_server 192.0.2.82 53 {
  protocol UDP
  lb_algo sh
  sh-fallback
  sh-port
  ops
  real_server 198.51.100.11 53 { }
}
virtual_server 192.0.2.82 5060 {
  protocol UDP
  persistence_timeout 60
  persistence_engine sip
  real_server 198.51.100.11 5060 { }
}
"""


def conf(sched: str = "rr", weights=(1, 1, 1), extra: str = "", dr: bool = False) -> str:
    rs = "".join(f"  real_server 198.51.100.1{i + 1} 8080 {{ weight {w} }}\n" for i, w in enumerate(weights))
    text = (f"virtual_server 192.0.2.80 80 {{\n  protocol TCP\n  lb_algo {sched}\n  lb_kind NAT\n"
            f"  sorry_server 198.51.100.20 8080\n{extra}{rs}}}\n")
    if dr:
        text += "virtual_server 192.0.2.81 8080 {\n  protocol TCP\n  lb_algo rr\n  lb_kind DR\n" + rs + "}\n"
    return text


class Guest:
    def __init__(self) -> None:
        self.lab = Lab.attach(os.environ["HAPAIR_LAB"])
        self.checks: dict[str, list] = {}
        WORK.mkdir(exist_ok=True)

    def check(self, name: str, ok: bool, detail: object) -> None:
        self.checks[name] = [bool(ok), detail]
        print(("PASS " if ok else "FAIL ") + name, detail if not ok else "", flush=True)

    def config(self, name: str, text: str):
        path = WORK / f"{name}.conf"
        path.write_text(text)
        config, diags = load_config(str(path))
        assert not diags.errors, [str(e) for e in diags.errors]
        return config

    def ipvsadm(self) -> str:
        return self.lab.exec("lb", ["ipvsadm", "-Ln"]).stdout

    def fetch(self, url: str, n: int) -> Counter:
        out = self.lab.exec("client", [sys.executable, "-c", CLIENT, url, str(n)], timeout=60).stdout
        return Counter(out.split())

    def start_servers(self) -> None:
        for host in (*WEBS, "sorry"):
            root = WORK / host
            root.mkdir(exist_ok=True)
            (root / "index.html").write_text(host + "\n")
            self.lab.popen(host, [sys.executable, "-m", "http.server", "8080", "--bind", "0.0.0.0",
                                  "--directory", str(root)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for host in WEBS:  # DR: the VIP on lo (arp_ignore/arp_announce come from the topology)
            self.lab.exec(host, ["ip", "addr", "add", "192.0.2.81/32", "dev", "lo"])
        deadline = time.monotonic() + 30
        for host in (*WEBS, "sorry"):
            while ":8080" not in self.lab.exec(host, ["ss", "-ltnH"]).stdout:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{host}: http.server not listening")
                time.sleep(0.1)


dests = ipvsadm_dests  # {rs: (forward, weight)} of one service in `ipvsadm -Ln` output


def run(g: Guest) -> None:
    # A service someone else made: the plane must never touch it.
    g.lab.exec("lb", ["ipvsadm", "-A", "-t", "203.0.113.9:80", "-s", "wlc"])
    g.start_servers()
    netns.setns(g.lab.netns("lb"))  # from here on this process (and its IPVS socket) is in lb
    runtime = WORK / "run"
    lb = LoadBalancer(g.config("rr", conf()), IpvsBackend(), runtime)
    r = lb.start()
    t = g.ipvsadm()
    nat = dests(t, "192.0.2.80:80")
    g.check("start_programs_nat_rr", not r.errors and "TCP  192.0.2.80:80 rr" in t and
            nat == {f"198.51.100.1{i}:8080": ("Masq", 1) for i in (1, 2, 3)}, t)
    c = g.fetch("http://192.0.2.80/", 6)
    g.check("rr_balances_evenly", c == Counter({"web1": 2, "web2": 2, "web3": 2}), dict(c))
    g.check("second_reconcile_is_noop", lb.reconcile().ops == [], "")

    r = lb.reload(g.config("wrr", conf("wrr", (3, 2, 1))))  # web3 keeps weight 1: two dest sets
    t = g.ipvsadm()
    kinds = sorted(f"{a.op.action} {a.op.kind}" for a in r.applied)
    g.check("reload_to_wrr_is_sets_only", kinds == ["set dest"] * 2 + ["set service"] and
            "192.0.2.80:80 wrr" in t, (kinds, t))
    c = g.fetch("http://192.0.2.80/", 12)
    g.check("wrr_follows_weights", c == Counter({"web1": 6, "web2": 4, "web3": 2}), dict(c))

    lb.reload(g.config("rr", conf()))
    lb.set_health(NAT_VS, ("198.51.100.12", 8080), False)
    lb.reconcile()
    nat = dests(g.ipvsadm(), "192.0.2.80:80")
    c = g.fetch("http://192.0.2.80/", 6)
    g.check("down_server_leaves_table", "198.51.100.12:8080" not in nat and len(nat) == 2, nat)
    g.check("down_server_gets_no_traffic", c == Counter({"web1": 3, "web3": 3}), dict(c))

    lb.reload(g.config("inhibit", conf(extra="  inhibit_on_failure\n")))
    nat = dests(g.ipvsadm(), "192.0.2.80:80")
    c = g.fetch("http://192.0.2.80/", 6)
    g.check("inhibit_keeps_weight_zero", nat.get("198.51.100.12:8080") == ("Masq", 0), nat)
    g.check("inhibited_server_gets_no_traffic", c["web2"] == 0 and sum(c.values()) == 6, dict(c))

    lb.reload(g.config("rr", conf()))
    for web in ("198.51.100.11", "198.51.100.13"):
        lb.set_health(NAT_VS, (web, 8080), False)
    r = lb.reconcile()
    nat = dests(g.ipvsadm(), "192.0.2.80:80")
    c = g.fetch("http://192.0.2.80/", 3)
    g.check("sorry_server_takes_over", nat == {"198.51.100.20:8080": ("Masq", 1)} and c == Counter({"sorry": 3}),
            (nat, dict(c)))
    g.check("quorum_down_event", [(e.vs, e.up) for e in r.events] == [(NAT_VS, False)], r.events)
    lb.set_health(NAT_VS, ("198.51.100.12", 8080), True)
    r = lb.reconcile()
    nat = dests(g.ipvsadm(), "192.0.2.80:80")
    g.check("sorry_server_leaves_on_recovery", nat == {"198.51.100.12:8080": ("Masq", 1)}, nat)
    g.check("quorum_up_event", [(e.vs, e.up) for e in r.events] == [(NAT_VS, True)], r.events)

    for web in ("198.51.100.11", "198.51.100.13"):
        lb.set_health(NAT_VS, (web, 8080), True)
    lb.reload(g.config("dr", conf(dr=True)))
    t = g.ipvsadm()
    dr = dests(t, "192.0.2.81:8080")
    c = g.fetch("http://192.0.2.81:8080/", 6)
    g.check("dr_programs_route", dr == {f"198.51.100.1{i}:8080": ("Route", 1) for i in (1, 2, 3)}, t)
    g.check("dr_carries_traffic", c == Counter({"web1": 2, "web2": 2, "web3": 2}), dict(c))
    raw = IpvsBackend().dump()  # pyroute2, raw fwd_method attribute
    methods = {d.method for s in raw.values() for d in s.dests.values() if s.key.addr == "192.0.2.81"}
    g.check("pyroute2_dump_reads_dr_raw", methods == {"DR"}, methods)

    # TUN with keepalived's tunnel options: the kernel holds them, a dump reads them back equal
    lb.reload(g.config("tun", conf(dr=True) + TUN_VS))
    t = g.lab.exec("lb", ["ipvsadm", "-Ln", "--tun-info", "-t", "192.0.2.82:8080"]).stdout
    tun = {d.addr: d.tunnel for s in IpvsBackend().dump().values() for d in s.dests.values()
           if s.key.addr == "192.0.2.82"}
    want = {"198.51.100.11": Tunnel("gue", 6080, "csum"), "198.51.100.12": Tunnel("gre", 0, "nocsum")}
    g.check("tun_options_in_kernel", tun == want and "gue" in t and "6080" in t, (tun, t))
    g.check("tun_second_reconcile_is_noop", lb.reconcile().ops == [], "")

    # ops and scheduler flags: set on the kernel's service, read back equal
    lb.reload(g.config("flags", conf(dr=True) + FLAGS_VS))
    t = g.lab.exec("lb", ["ipvsadm", "-Ln", "-u", "192.0.2.82:53"]).stdout
    g.check("service_flags_in_kernel", "sh (sh-fallback,sh-port)" in t and " ops" in t, t)
    t = g.lab.exec("lb", ["ipvsadm", "-Ln", "-u", "192.0.2.82:5060"]).stdout
    g.check("persistence_engine_in_kernel", "pe sip" in t and "persistent 60" in t, t)
    g.check("flags_second_reconcile_is_noop", lb.reconcile().ops == [], "")
    lb.reload(g.config("dr", conf(dr=True)))

    st = lb.status()["virtual_servers"][0]["real_servers"]
    g.check("status_has_kernel_counters", all(len(rs["kernel"]) == 1 for rs in st) and
            sum(k["active"] + k["inactive"] for rs in st for k in rs["kernel"]) >= 0, st)
    g.check("owned_record", json.loads((runtime / "lb-owned.json").read_text())["services"].__len__() == 2, "")
    full = lb.backend.dump()
    asked = [*full][:2] + [ServiceKey.ip("TCP", "192.0.2.99", 80)]  # the last one is not in the kernel
    some = lb.backend.dump(keys=asked)
    g.check("dump_by_keys_reads_those_only", len(full) == 3 and some == {k: full[k] for k in asked[:2]},
            (sorted(map(str, some)), sorted(map(str, full))))

    # Restart without flush keeps the tables; a fresh plane adopts them with no ops.
    lb.flush_on_stop = False
    lb.stop()
    lb.close()
    again = LoadBalancer(g.config("dr", conf(dr=True)), IpvsBackend(), runtime)
    r = again.start()
    g.check("restart_adopts_without_ops", r.ops == [] and not r.errors, [str(o) for o in r.ops])
    again.stop()
    again.close()
    t = g.ipvsadm()
    g.check("stop_clears_only_ours", "192.0.2.80" not in t and "192.0.2.81" not in t and "203.0.113.9:80" in t, t)


def main() -> int:
    g = Guest()
    try:
        run(g)
    except Exception:
        g.check("guest_ran_to_end", False, traceback.format_exc())
    else:
        g.check("guest_ran_to_end", True, "")
    Path(os.environ.get("HAPAIR_SHARE", "/tmp"), "lb-checks.json").write_text(json.dumps(g.checks, default=str))
    return 0 if all(ok for ok, _ in g.checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
