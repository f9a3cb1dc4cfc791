"""Wall time of ``ansible-playbook examples/site.yml``: first run, second run (changed=0)
and a no-op play over the same hosts, at several fork counts; with the cost of each task.

    .venv/bin/python bench/ansible.py [--runs 3] [--lab NAME]                  # one pair: lab "nat"
    .venv/bin/python bench/ansible.py --fleet 20 [--forks 5 20] [--lab NAME]  # N pairs: lab "fleet"

Without ``--fleet``: the "nat" topology with examples/inventory/lab.yml (lb1, lb2, web1,
web2). With ``--fleet N``: N load-balancer pairs and N web servers on one segment
(bench/fleet_layout.py; N=20 is lab/topologies/fleet.yml with examples/inventory/fleet.yml).
``--collections DIR`` takes the collection from DIR (e.g. a ``git archive`` of an older commit
under DIR/ansible_collections/hapair/keepalived: before and after on one lab). Rolls out
``examples/lab-apps.yml`` and ``examples/site.yml`` once (the first run, timed at the first
fork count), then for each fork count alternates, ``--runs`` times,
``site.yml`` (every run must report changed=0) and a no-op play on the same hosts
(``ansible.builtin.ping``: connection plus one module round trip per host). Then checks
the running daemons: every VRRP instance has exactly one MASTER, and no two instances
share a VRID on the segment. Prints median [min-max] and the ten costliest tasks of the
last second run at each fork count, with its share of the play
(bench/callback_plugins/task_cost.py, enabled through the environment for the bench's runs
only: task start to the next task's start, summed over hosts' parallel work, so wall time;
ansible.posix's profile_tasks is not installed here). Settings as in examples/ansible.cfg
(ssh, pipelining, ControlPersist). Run as root from the repository root (make venv
first); the collection is found through ``.cache/collections`` (``make collection-link``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
import fleet_layout  # noqa: E402

NOOP = """---
- name: No-op play on the same hosts
  hosts: loadbalancers:webservers
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


COLLECTIONS = [REPO / ".cache/collections"]  # (--collections replaces it)


def ansible_env(forks: int, cost_file: Path | None = None) -> dict:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "examples/ansible.cfg"), ANSIBLE_FORKS=str(forks),
               ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS[0]), ANSIBLE_HOME=str(REPO / ".cache/ansible"),
               PATH=f"{REPO / '.venv/bin'}:{os.environ.get('PATH', '')}")
    if cost_file:
        env.update(ANSIBLE_CALLBACK_PLUGINS=str(REPO / "bench/callback_plugins"), ANSIBLE_CALLBACKS_ENABLED="task_cost",
                   TASK_COST_FILE=str(cost_file))
    return env


def run_play(inventories: list[Path], playbook: Path, forks: int, cost_file: Path | None = None) -> tuple[float, str]:
    # the wheelhouse the role builds on the controller stays in the checkout (as with Molecule)
    cmd = ["ansible-playbook", *[a for inv in inventories for a in ("-i", str(inv))],
           "-e", f"keepalived_ha_wheelhouse_cache={REPO / '.cache/wheelhouse'}", str(playbook)]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(forks, cost_file), capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def changed(recap: str) -> int:
    return sum(int(n) for n in re.findall(r"changed=(\d+)", recap))


def check_elections(inventories: list[Path], tmp: Path) -> str:
    """Exactly one MASTER per instance, one VRID per instance, no VRID shared by two instances."""
    tree = tmp / "tree"
    cmd = ["ansible", *[a for inv in inventories for a in ("-i", str(inv))], "loadbalancers",
           "-m", "hapair.keepalived.keepalived_info", "-a", "gather=vrrp", "-t", str(tree)]
    subprocess.run(cmd, cwd=REPO, env=ansible_env(20), capture_output=True, check=True)
    states, vrids = defaultdict(list), defaultdict(set)
    for host_file in tree.iterdir():
        for inst in json.loads(host_file.read_text())["vrrp"]["instances"]:
            states[inst["name"]].append(inst["state"])
            vrids[inst["vrid"]].add(inst["name"])
    problems = [f"{name}: {sorted(s)}" for name, s in states.items() if s.count("MASTER") != 1]
    problems += [f"VRID {vrid}: {sorted(names)}" for vrid, names in vrids.items() if len(names) > 1]
    if problems:
        sys.exit("elections wrong: " + "; ".join(problems))
    return f"{len(states)} instances on {len(list(tree.iterdir()))} load balancers: one MASTER each, {len(vrids)} distinct VRIDs"


def progress(text: str) -> None:
    """A line on stderr as each run ends (a long fleet bench stopped early keeps what it measured)."""
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"[{time.strftime('%H:%M:%S')}, load {load}] {text}", file=sys.stderr, flush=True)


def cell(values: list[float]) -> str:
    return f"{statistics.median(values):6.1f} [{min(values):.1f}-{max(values):.1f}]"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--forks", type=int, nargs="+", default=[10])
    ap.add_argument("--fleet", type=int, metavar="PAIRS", help="N pairs and N web servers on one segment")
    ap.add_argument("--lab", help="use this lab (already up, site.yml not yet run) instead of a new one")
    ap.add_argument("--collections", type=Path, help="take hapair.keepalived from DIR/ansible_collections/hapair/keepalived")
    args = ap.parse_args()
    if args.collections:
        COLLECTIONS[0] = args.collections.resolve()
    subprocess.run(["make", "-s", "collection-link"], cwd=REPO, check=True)
    from lab import Lab  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.fleet:
            topology, group_vars = tmp / "fleet.yml", tmp / "fleet-vars.yml"
            topology.write_text(fleet_layout.topology(args.fleet))
            group_vars.write_text(fleet_layout.inventory(args.fleet))
        else:
            topology, group_vars = "nat", REPO / "examples/inventory/lab.yml"
        lab = Lab.attach(args.lab) if args.lab else Lab(str(topology), name=f"bans{os.getpid() % 100000}").__enter__()
        try:
            inventories = [lab.inventory, group_vars]
            noop = tmp / "noop.yml"
            noop.write_text(NOOP)
            site = REPO / "examples/site.yml"
            run_play(inventories, REPO / "examples/lab-apps.yml", args.forks[0])
            first, _ = run_play(inventories, site, args.forks[0])
            progress(f"first run at forks {args.forks[0]}: {first:.1f} s")
            rows, costs = [], {}  # costs: forks -> {task: s} of that fork count's last second run
            for forks in args.forks:
                second, plain = [], []
                for _ in range(args.runs):
                    elapsed, out = run_play(inventories, site, forks, tmp / "cost.json")
                    if changed(out):
                        sys.exit(f"second run of site.yml changed something:\n{out[-3000:]}")
                    second.append(elapsed)
                    plain.append(run_play(inventories, noop, forks)[0])
                    progress(f"forks {forks}: second run {elapsed:.1f} s, no-op {plain[-1]:.1f} s")
                costs[forks] = json.loads((tmp / "cost.json").read_text())
                rows.append((forks, second, plain))
            elections = check_elections(inventories, tmp)
        finally:
            if not args.lab:
                lab.__exit__(None, None, None)

    hosts = f"{2 * args.fleet} load balancers + {args.fleet} web servers" if args.fleet else "lb1, lb2 + web1, web2"
    print(f"site.yml on {hosts}; runs: {args.runs}; first run at forks {args.forks[0]}: {first:.1f} s; {elections}")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| forks | second run (changed=0), s | no-op play (ping), s | ratio |")
    print("|---|---|---|---|")
    for forks, second, plain in rows:
        ratio = statistics.median(second) / statistics.median(plain)
        print(f"| {forks} | {cell(second)} | {cell(plain)} | {ratio:.1f}x |")
    for forks, cost in costs.items():
        total = sum(cost.values())
        print(f"\nCostliest tasks of the last second run at forks {forks} (of {total:.1f} s), s and share:")
        for name, seconds in sorted(cost.items(), key=lambda kv: -kv[1])[:10]:
            print(f"| {seconds:6.1f} | {100 * seconds / total:4.1f}% | {name} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
