"""First-packet latency through the nftables plane as the number of services grows (issue 17 §1).

    .venv/bin/python bench/dataplane_services.py [--sizes 100,1000,10000] [--connects 1000]

Lab: tests/integration/nft/nft-topology.yml (client | lb | web1-3, NAT). For each
size, N virtual servers 192.0.2.80:10000.. (rr, 3 real servers on port 8080) are
programmed by pykeepalived's nftables plane in lb; then the client times TCP
connects (SYN out to SYN-ACK back: the one packet of a connection that goes through
the service lookup and DNAT) to the first, the middle and the last service, one
connection at a time, and to web1 directly (the path without the balancer). The
lookup is flat when the p50/p99 do not grow with N.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dataplane import TOPO, start_servers  # noqa: E402

FIRST_PORT = 10000
CONNECTS = """
import json, socket, sys, time
host, ports, n = sys.argv[1], [int(p) for p in sys.argv[2].split(",")], int(sys.argv[3])
out = {}
for port in ports:
    lat = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(3)
        t0 = time.perf_counter()
        s.connect((host, port))
        lat.append(time.perf_counter() - t0)
        s.close()
    lat.sort()
    out[port] = [round(lat[len(lat) // 2] * 1e6), round(lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1e6)]
print(json.dumps(out))
"""


def config(n: int) -> str:
    rs = "".join(f"  real_server 198.51.100.1{i} 8080 {{ }}\n" for i in (1, 2, 3))
    return "".join(f"virtual_server 192.0.2.80 {FIRST_PORT + i} {{\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n{rs}}}\n"
                   for i in range(n))


def connects(lab, host: str, ports: list[int], n: int) -> dict[int, list[int]]:
    out = lab.exec("client", [sys.executable, "-c", CONNECTS, host, ",".join(map(str, ports)), str(n)],
                   timeout=600).stdout
    return {int(k): v for k, v in json.loads(out).items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--connects", type=int, default=1000)
    ap.add_argument("--lab-name", default=f"dps-{os.getpid()}")
    args = ap.parse_args()
    from lab import Lab
    from pykeepalived.config.loader import loads_config
    from pykeepalived.lb.nftables import NftBackend
    from pykeepalived.lb.plane import LoadBalancer

    rows = []
    with Lab(TOPO, name=args.lab_name, owner_pid=os.getpid()) as lab:
        start_servers(lab)
        direct = connects(lab, "198.51.100.11", [8080], args.connects)[8080]
        rows.append(("direct to web1", "-", "-", direct, direct, direct))
        for n in (int(s) for s in args.sizes.split(",")):
            cfg, diags = loads_config(config(n))
            assert not diags.errors, diags.errors[:3]
            t0 = time.monotonic()
            lb = LoadBalancer(cfg, NftBackend(prefix=lab.enter_argv("lb")), lab.dir / f"nft{n}")
            r = lb.start()
            up = time.monotonic() - t0
            assert not r.errors, r.errors[:3]
            ports = [FIRST_PORT, FIRST_PORT + n // 2, FIRST_PORT + n - 1]
            got = connects(lab, "192.0.2.80", ports, args.connects)
            rows.append((f"{n:,} services", f"{up:.1f}", str(n * 3), *(got[p] for p in ports)))
            lb.stop()
            lb.close()
    print(f"\nTCP connect through the VIP (SYN to SYN-ACK), {args.connects} sequential connects per port, "
          "p50 / p99 in microseconds\n")
    print("| table | programmed in s | destinations | first service | middle service | last service |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, up, dests, *cells in rows:
        print(f"| {name} | {up} | {dests} | " + " | ".join(f"{a} / {b}" for a, b in cells) + " |")


if __name__ == "__main__":
    main()
