"""Data-plane benchmark: HTTP through the VIP with nftables (host kernel) and IPVS (UML kernel),
next to a direct connection to one real server, and the nftables reconcile time for
100 services x 20 real servers.

    .venv/bin/python bench/dataplane.py [--seconds 5] [--concurrency 16] [--no-uml]

Lab: tests/integration/nft/nft-topology.yml (client | lb | web1-3 + sorry, NAT;
"direct" = client -> web1 routed through lb without DNAT, the same path minus
the load balancer). Real servers are tests/integration/nft/webserver.py
(Python ThreadingHTTPServer), the load generator bench/dataplane_load.py
(asyncio, one new connection per request), so the numbers measure the whole
lab, Python servers included; compare rows, not absolute values. The IPVS
rows run inside user-mode-linux (an emulated kernel: far slower per packet),
so they are only comparable with the UML direct row.
With --guest (internal) it runs the IPVS half inside the UML guest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TOPO = ROOT / "tests/integration/nft/nft-topology.yml"
WEB = ROOT / "tests/integration/nft/webserver.py"
LOAD = ROOT / "bench/dataplane_load.py"
WEBS = ("web1", "web2", "web3")
CONF = """virtual_server 192.0.2.80 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 198.51.100.11 8080 { }
  real_server 198.51.100.12 8080 { }
  real_server 198.51.100.13 8080 { }
}
"""


def start_servers(lab) -> None:
    for host in WEBS:
        lab.popen(host, [sys.executable, str(WEB), host, "8080"], stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    for host in WEBS:
        while ":8080" not in lab.exec(host, ["ss", "-ltnH"]).stdout:
            if time.monotonic() > deadline:
                raise TimeoutError(host)
            time.sleep(0.05)
    lab.exec("client", ["ip", "route", "add", "198.51.100.0/24", "via", "192.0.2.1"])


def load(lab, host: str, port: int, seconds: float, conc: int) -> dict:
    out = lab.exec("client", [sys.executable, str(LOAD), host, str(port), str(seconds), str(conc)],
                   timeout=seconds + 60).stdout
    return json.loads(out)


def plane(backend, runtime: Path):
    from pykeepalived.config.loader import loads_config
    from pykeepalived.lb.plane import LoadBalancer

    config, diags = loads_config(CONF)
    assert not diags.errors
    lb = LoadBalancer(config, backend, runtime)
    r = lb.start()
    assert not r.errors, r.errors
    return lb


def reconcile_times(lab) -> dict:
    """100 services x 20 real servers: pure render, first apply, one weight change, dump (ms)."""
    from pykeepalived.lb import nft_render
    from pykeepalived.lb.nftables import NftBackend
    from pykeepalived.lb.reconcile import reconcile
    from pykeepalived.lb.table import Dest, ServiceKey, ServiceSpec, make_table, service

    def table(w0: int):
        svcs = []
        for s in range(100):
            spec = ServiceSpec(ServiceKey.ip("TCP", f"203.0.113.{s + 1}", 80), "wrr")
            svcs.append(service(spec, *(Dest(f"10.{s}.0.{d + 1}", 8080, weight=w0 if d == 0 else 1 + d % 3)
                                         for d in range(20))))
        return make_table(*svcs)

    want, changed = table(1), table(5)
    render = []
    for _ in range(20):
        t0 = time.perf_counter()
        nft_render.render(want)
        render.append(time.perf_counter() - t0)
    b = NftBackend(prefix=lab.enter_argv("lb"), counts=False)
    b.delete_table()
    t0 = time.perf_counter()
    b.apply(reconcile(want, b.dump()))
    first = time.perf_counter() - t0
    steps = []
    for i in range(6):  # ends on want
        target = changed if i % 2 == 0 else want
        t0 = time.perf_counter()
        r = b.apply(reconcile(target, b.dump(), set(target)))
        steps.append(time.perf_counter() - t0)
        assert r and all(a.ok for a in r)
    fresh = NftBackend(prefix=lab.enter_argv("lb"), counts=False)  # a listing, as at start or adopt
    t0 = time.perf_counter()
    got = fresh.dump()
    dump = time.perf_counter() - t0
    assert got == want
    lines = len(b.script(want).splitlines())
    b.delete_table()
    ms = lambda x: round(x * 1000, 1)  # noqa: E731
    return {"render_ms": ms(statistics.median(render)), "first_apply_ms": ms(first),
            "reconcile_ms": ms(statistics.median(steps)), "dump_ms": ms(dump), "script_lines": lines}


def host_half(seconds: float, conc: int) -> tuple[dict, dict]:
    from lab import Lab
    from pykeepalived.lb.nftables import NftBackend

    rows = {}
    with Lab(TOPO, name=f"dp-{os.getpid()}", owner_pid=os.getpid()) as lab:
        start_servers(lab)
        rows["direct (host kernel)"] = load(lab, "198.51.100.11", 8080, seconds, conc)
        backend = NftBackend(prefix=lab.enter_argv("lb"))
        lb = plane(backend, lab.dir / "nftrun")
        rows["nftables VIP rr x3 (host kernel)"] = load(lab, "192.0.2.80", 80, seconds, conc)
        lb.set_health("TCP 192.0.2.80:80", ("198.51.100.12", 8080), False)
        lb.set_health("TCP 192.0.2.80:80", ("198.51.100.13", 8080), False)
        lb.reconcile()
        rows["nftables VIP -> web1 only (host kernel)"] = load(lab, "192.0.2.80", 80, seconds, conc)
        lb.stop()
        rec = reconcile_times(lab)
    return rows, rec


def guest(seconds: float, conc: int) -> None:
    """Inside UML: direct and IPVS rows, written to $HAPAIR_SHARE/dataplane.json."""
    from pyroute2 import netns

    from lab.core import Lab
    from pykeepalived.lb.ipvs import IpvsBackend

    lab = Lab.attach(os.environ["HAPAIR_LAB"])
    start_servers(lab)
    rows = {"direct (UML kernel)": load(lab, "198.51.100.11", 8080, seconds, conc)}
    netns.setns(lab.netns("lb"))
    lb = plane(IpvsBackend(), Path("/tmp/dp-ipvs"))
    rows["IPVS VIP rr x3 (UML kernel)"] = load(lab, "192.0.2.80", 80, seconds, conc)
    lb.set_health("TCP 192.0.2.80:80", ("198.51.100.12", 8080), False)
    lb.set_health("TCP 192.0.2.80:80", ("198.51.100.13", 8080), False)
    lb.reconcile()
    rows["IPVS VIP -> web1 only (UML kernel)"] = load(lab, "192.0.2.80", 80, seconds, conc)
    lb.stop()
    Path(os.environ["HAPAIR_SHARE"], "dataplane.json").write_text(json.dumps(rows))


def uml_half(seconds: float, conc: int) -> dict:
    from lab.uml import run_in_uml

    r = run_in_uml([sys.executable, __file__, "--guest", "--seconds", str(seconds), "--concurrency", str(conc)],
                   topology=TOPO, timeout=300)
    if "dataplane.json" not in r.files:
        print(f"UML guest failed (rc {r.returncode}):\n{r.output[-2000:]}", file=sys.stderr)
        return {}
    return json.loads(r.files["dataplane.json"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--no-uml", action="store_true")
    ap.add_argument("--guest", action="store_true")
    a = ap.parse_args()
    if a.guest:
        guest(a.seconds, a.concurrency)
        return
    rows, rec = host_half(a.seconds, a.concurrency)
    if not a.no_uml:
        rows.update(uml_half(a.seconds, a.concurrency))
    print(f"\nHTTP/1.0, one connection per request, {a.concurrency} concurrent, {a.seconds:g} s each\n")
    print("| path | requests/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} |")
    print("\nnftables reconcile, 100 services x 20 real servers (wrr), in a lab netns\n")
    print("| pure render ms | first apply ms | reconcile (one weight per service) ms | dump ms | script lines |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {rec['render_ms']} | {rec['first_apply_ms']} | {rec['reconcile_ms']} | {rec['dump_ms']} | "
          f"{rec['script_lines']} |")


if __name__ == "__main__":
    main()
