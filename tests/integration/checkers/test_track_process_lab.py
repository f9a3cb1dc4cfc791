"""vrrp_track_process in the lab (issue 15): a VRRP instance on lb follows real processes.

lb is a netns-only host, so the kernel's process events do not reach it (the proc
connector answers only in the initial network namespace) and the daemon falls back to
scanning /proc every second; its log says so.  The tracked processes are ``sleep`` with
a number no other process on the machine carries, started inside lb and ended by PID:

* ``must_run`` (weight 0): while it is not running the instance is FAULT and its VIP is
  gone from lb's eth0; when it runs, the instance becomes MASTER and the VIP appears;
* ``bonus`` (weight -60): while not running the priority is 150 - 60 = 90.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from .test_checkers_lab import BIN, wait_for

HERE = Path(__file__).resolve().parent
LAB_TOPOLOGY = HERE / "topology.yml"
VIP = "198.51.100.200"
TAG = f"0.{uuid.uuid4().int % 10**12:012d}"


def config() -> str:
    return f"""vrrp_track_process must_run {{
    process sleep 300 {TAG}
    param_match partial
}}
vrrp_track_process bonus {{
    process sleep 301 {TAG}
    weight -60
}}
vrrp_instance VI_57 {{
    state MASTER
    interface eth0
    virtual_router_id 57
    priority 150
    advert_int 1
    virtual_ipaddress {{
        {VIP}/24
    }}
    track_process {{
        must_run
        bonus
    }}
}}
"""


class Vrrp:
    def __init__(self, lab, run: Path) -> None:
        self.lab, self.run = lab, run

    def vrrp(self) -> dict:
        out = subprocess.run([str(BIN / "pykeepalivedctl"), "status", "--json", "--runtime-dir", str(self.run)],
                             capture_output=True, text=True, timeout=30)
        return (json.loads(out.stdout)["result"].get("vrrp") or {}) if out.returncode == 0 else {}

    def status(self) -> dict | None:
        return next((i for i in self.vrrp().get("instances", []) if i["name"] == "VI_57"), None)

    def has_vip(self) -> bool:
        return f" {VIP}/" in self.lab.exec("lb", ["ip", "-o", "-4", "addr", "show", "dev", "eth0"]).stdout

    def wait(self, state: str, priority: int, vip: bool) -> None:
        def reached() -> bool:
            st = self.status()
            return bool(st) and st["state"] == state and st["effective_priority"] == priority \
                and self.has_vip() == vip
        wait_for(reached, 30, f"never {state} at {priority} with VIP {vip}: {self.status()}")


@pytest.fixture(scope="module")
def env(lab, tmp_path_factory):
    run = tmp_path_factory.mktemp("track-process-run")
    (run / "keepalived.conf").write_text(config())
    log = (run / "pykeepalived.log").open("ab")
    daemon = lab.popen("lb", [str(BIN / "pykeepalived"), "-f", str(run / "keepalived.conf"), "-n", "-l",
                              "--runtime-dir", str(run)], stdout=log, stderr=log)
    procs: dict[str, subprocess.Popen] = {}
    try:
        yield Vrrp(lab, run), procs, run / "pykeepalived.log"
    finally:
        daemon.terminate()
        daemon.wait(30)
        for proc in procs.values():
            proc.terminate()
            proc.wait(10)
        log.close()


def test_instance_follows_the_processes(lab, env) -> None:
    vrrp, procs, log = env
    vrrp.wait("FAULT", 90, vip=False)  # must_run absent (weight 0: FAULT); bonus absent: -60
    assert "process events unavailable (Connection refused): scanning /proc every 1 s" in log.read_text()
    assert vrrp.vrrp()["track_processes"]["must_run"] == {"up": False, "running": 0, "watch": "scan"}
    procs["must_run"] = lab.popen("lb", ["sleep", "300", TAG])
    vrrp.wait("MASTER", 90, vip=True)
    procs["bonus"] = lab.popen("lb", ["sleep", "301", TAG])
    vrrp.wait("MASTER", 150, vip=True)
    assert vrrp.vrrp()["track_processes"]["bonus"] == {"up": True, "running": 1, "watch": "scan"}
    for name in ("bonus", "must_run"):
        proc = procs.pop(name)
        proc.terminate()
        proc.wait(10)
    vrrp.wait("FAULT", 90, vip=False)
