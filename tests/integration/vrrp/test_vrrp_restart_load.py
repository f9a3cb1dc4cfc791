"""A restart of the master under HTTP load, pykeepalived beside keepalived 2.2.7 (issue 13 (c),
keepalived's figure), lab "five": the Molecule step ``restart_master.yml`` measures ours
through the role and systemd on the NAT lab, where keepalived cannot run (its virtual
servers need IPVS, which the host kernel lacks). Here both implementations run the same
pair without a data plane: lb1 (priority 200) and lb2 (100) each serve HTTP on every
address (``python3 -m http.server``, answering with their name), so a GET to the VIP is
answered by whoever holds it. The client runs tools/vip_load.py (a GET every 50 ms, a new
connection each, 1 s timeout) while lb1's daemon is restarted as ``systemctl restart``
does it: SIGTERM, wait for the exit, start again; the load goes on until lb1 holds the VIP
again (it preempts) and 2 s more. Reported, not asserted (the Molecule step asserts ours):
requests, failures by kind, the longest gap. Numbers: docs/performance.md "Day-two
operations under load".
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from statistics import median

import pytest

from .vrrp_cases import global_defs, instance, stop_all, vips, wait_vips
from .vrrp_hosts import KEEPALIVED, RUN_DIR, Daemon, wait_for

LAB_TOPOLOGY = "five"
VIP = "192.0.2.214"
VRID = 94
ADVERT = 1.0
RUNS = 3
TOOL = Path(__file__).resolve().parents[3] / "tools" / "vip_load.py"


def web(lab, host: str) -> subprocess.Popen:
    root = f"{RUN_DIR}/www-{host}"
    lab.exec(host, ["mkdir", "-p", root])
    lab.exec(host, ["tee", f"{root}/index.html"], input=f"{host}\n")
    return lab.popen(host, ["python3", "-m", "http.server", "80", "--bind", "0.0.0.0", "--directory", root],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def restart_run(lab, kind: str, name: str, log_dir: Path) -> dict:
    def make(host: str, priority: int) -> Daemon:
        return Daemon(lab, host, kind, f"{name}-{host}", global_defs() +
                      instance("VI_1", VRID, priority, f"{VIP}/24", advert=ADVERT))
    master, backup = make("lb1", 200), make("lb2", 100)
    state = f"{RUN_DIR}/load-{name}"
    try:
        backup.start(log_dir)
        master.start(log_dir)
        wait_vips(lab, "lb1", {VIP}, 15)
        lab.exec("client", ["python3", str(TOOL), "start", "--url", f"http://{VIP}/", "--state", state])
        time.sleep(1.0)
        master.kill("TERM")
        wait_for(lambda: not master.running(), 20, f"{kind} on lb1 did not stop")
        master.start(log_dir)
        wait_vips(lab, "lb1", {VIP}, 20)  # preempted back
        time.sleep(2.0)  # a request lost in the move back ends by its 1 s timeout
        out = lab.exec("client", ["python3", str(TOOL), "stop", "--state", state, "--json"]).stdout
        return json.loads(out)
    finally:
        stop_all(master, backup)


def report(kind: str, runs: list[dict]) -> str:
    line = (f"{kind:<13} restart  runs {len(runs)}  failed {[r['failed'] for r in runs]} "
            f"(median {median(r['failed'] for r in runs):g}; kinds {[r['failures'] for r in runs]})  "
            f"longest gap ms {[round(r['longest_gap'] * 1000) for r in runs]} "
            f"(median {median(r['longest_gap'] for r in runs) * 1000:.0f})  requests {[r['requests'] for r in runs]}")
    print(line)
    return line


@pytest.fixture
def servers(lab):
    procs = [web(lab, host) for host in ("lb1", "lb2")]
    wait_for(lambda: all(lab.exec(h, ["python3", "-c", "import urllib.request; urllib.request.urlopen("
                                      "'http://127.0.0.1/', timeout=1)"], check=False).returncode == 0
                         for h in ("lb1", "lb2")), 20, "http.server on lb1/lb2 did not come up")
    yield
    for p in procs:
        p.terminate()
        p.wait(timeout=10)
    for host in ("lb1", "lb2"):
        assert VIP not in vips(lab, host), f"the VIP was left on {host}"


@pytest.mark.parametrize("kind", ["pykeepalived",
                                  pytest.param("keepalived", marks=pytest.mark.skipif(
                                      not Path(KEEPALIVED).exists(), reason="keepalived 2.2.7 is not installed"))])
def test_restart_of_the_master_under_http_load(lab, servers, kind: str, tmp_path: Path) -> None:
    runs = [restart_run(lab, kind, f"rl-{kind[:2]}-{n}", tmp_path) for n in range(RUNS)]
    report(kind, runs)
    for r in runs:
        assert r["requests"] > 0 and set(r["answers"]) <= {"lb1", "lb2"}
