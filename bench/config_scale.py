#!/usr/bin/env python3
"""Time to parse and validate large generated configs (target: < 1 s for 1,000 x 10).

Prints a table: median and min of N runs per case, plus the phase split
(tokenize / parse+build+validate) for the largest case.

    .venv/bin/python bench/config_scale.py [--runs 5]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import statistics
import tempfile
import time

from pykeepalived.config.errors import Diagnostics
from pykeepalived.config.lexer import tokenize_file
from pykeepalived.config.loader import _bulk_allocation, load_config


def lvs_config(n_vs: int, n_rs: int) -> str:
    base = int(ipaddress.IPv4Address("10.0.0.0"))
    out = []
    for v in range(n_vs):
        vip = ipaddress.IPv4Address(base + 0x10000 + v)
        out.append(f"virtual_server {vip} 80 {{\n    delay_loop 6\n    lb_algo wrr\n    lb_kind NAT\n"
                   "    persistence_timeout 50\n    protocol TCP\n")
        for r in range(n_rs):
            rip = ipaddress.IPv4Address(base + 0x200000 + v * n_rs + r)
            out.append(f"    real_server {rip} 8080 {{\n        weight {r + 1}\n        TCP_CHECK {{\n"
                       "            connect_timeout 3\n            retry 3\n            delay_before_retry 3\n"
                       "        }\n    }\n")
        out.append("}\n")
    return "".join(out)


def vrrp_config(n: int) -> str:
    out = ['vrrp_script chk { script "/bin/true" interval 2 weight -20 }\n']
    for i in range(n):
        out.append(f"vrrp_instance VI_{i} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {i + 1}\n"
                   f"    priority 100\n    advert_int 1\n    authentication {{\n        auth_type PASS\n"
                   f"        auth_pass p{i}\n    }}\n    virtual_ipaddress {{\n        10.1.{i}.1/24 dev eth0\n"
                   f"    }}\n    track_script {{\n        chk\n    }}\n}}\n")
    return "".join(out)


CASES = [
    ("100 VS x 10 RS", lambda: lvs_config(100, 10)),
    ("1,000 VS x 10 RS", lambda: lvs_config(1000, 10)),
    ("255 VRRP instances", lambda: vrrp_config(255)),
]


def time_load(path: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        config, diags = load_config(path)
        samples.append(time.perf_counter() - t0)
        assert not diags.errors, diags.errors[:3]
    return samples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"{'case':<22} {'lines':>8} {'median s':>9} {'min s':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        largest = None
        for name, make in CASES:
            path = os.path.join(tmp, "k.conf")
            text = make()
            with open(path, "w") as fh:
                fh.write(text)
            samples = time_load(path, args.runs)
            print(f"{name:<22} {text.count(chr(10)):>8} {statistics.median(samples):>9.3f} {min(samples):>7.3f}")
            if name.startswith("1,000"):
                largest = text
        path = os.path.join(tmp, "big.conf")
        with open(path, "w") as fh:
            fh.write(largest)
        tok = []
        for _ in range(args.runs):
            with _bulk_allocation():  # as load_config does
                t0 = time.perf_counter()
                tokenize_file(path, Diagnostics())
                tok.append(time.perf_counter() - t0)
        total = statistics.median(time_load(path, args.runs))
        print(f"\nphases of 1,000 x 10 (median): tokenize {statistics.median(tok):.3f} s, "
              f"parse+build+validate {total - statistics.median(tok):.3f} s")


if __name__ == "__main__":
    main()
