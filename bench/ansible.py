"""Wall time of a second ``ansible-playbook examples/site.yml`` (changed=0) next to a no-op play.

    .venv/bin/python bench/ansible.py [--runs 3] [--lab NAME]

Brings up a lab "nat" (or uses ``--lab NAME`` if it is up), rolls out
``examples/lab-apps.yml`` and ``examples/site.yml`` once, then alternates, ``--runs``
times: ``ansible-playbook site.yml`` (every run must report changed=0) and a
no-op play on the same hosts (``ansible.builtin.ping`` on loadbalancers and
webservers: connection plus one module round trip per host). Same ansible.cfg-free
settings for both (ssh, pipelining, ControlPersist). Prints median [min-max].
Run as root from the repository root (make venv first); the collection is found
through ``.cache/collections`` (``make collection-link``).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOOP = """---
- name: No-op play on the same hosts
  hosts: loadbalancers:webservers
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def run_play(inventory: Path, playbook: Path) -> tuple[float, str]:
    env = dict(os.environ, ANSIBLE_PIPELINING="1", ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_FORKS="10",
               ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_COLLECTIONS_PATH=str(REPO / ".cache/collections"),
               PATH=f"{REPO / '.venv/bin'}:{os.environ.get('PATH', '')}")
    cmd = ["ansible-playbook", "-i", str(inventory), "-i", str(REPO / "examples/inventory/lab.yml"), str(playbook)]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def changed(recap: str) -> int:
    return sum(int(n) for n in re.findall(r"changed=(\d+)", recap))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lab", help="use this lab (already up) instead of a new one")
    args = ap.parse_args()
    subprocess.run(["make", "-s", "collection-link"], cwd=REPO, check=True)
    sys.path.insert(0, str(REPO))
    from lab import Lab  # noqa: PLC0415

    lab = Lab.attach(args.lab) if args.lab else Lab("nat", name=f"bans{os.getpid() % 100000}").__enter__()
    try:
        inventory = lab.inventory
        with tempfile.TemporaryDirectory() as tmp:
            noop = Path(tmp) / "noop.yml"
            noop.write_text(NOOP)
            run_play(inventory, REPO / "examples/lab-apps.yml")
            first, _ = run_play(inventory, REPO / "examples/site.yml")
            site, plain = [], []
            for _ in range(args.runs):
                elapsed, out = run_play(inventory, REPO / "examples/site.yml")
                if changed(out):
                    sys.exit(f"second run of site.yml changed something:\n{out[-3000:]}")
                site.append(elapsed)
                plain.append(run_play(inventory, noop)[0])
    finally:
        if not args.lab:
            lab.__exit__(None, None, None)

    def cell(values: list[float]) -> str:
        return f"{statistics.median(values):6.2f} [{min(values):.2f}-{max(values):.2f}]"

    print(f"site.yml on lb1, lb2 (role) and web1, web2 (nat_real_server: default route via the gateway VIP); runs: {args.runs}")
    print("| play | wall time, s: median [min-max] |")
    print("|---|---|")
    print(f"| first `ansible-playbook site.yml` (install + config) | {first:6.2f} |")
    print(f"| `ansible-playbook site.yml` again (changed=0) | {cell(site)} |")
    print(f"| no-op play (ping), same hosts | {cell(plain)} |")
    print(f"| difference: the role's work when nothing changes | {statistics.median(site) - statistics.median(plain):6.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
