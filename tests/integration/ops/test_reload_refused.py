"""A reload that is slow to judge and refused moves nothing, and a child killed afterwards
comes back with the configuration the pair runs, not the refused file (issue 16 item 2).

Before: the VRRP child parsed the file inside its event loop; a 1 MB address line kept it
busy past the supervisor's stall limit, the child was killed, restarted, read the bad file,
refused to start (again and again), lb2 took over and the killed child's VIP stayed on
lb1: both held the VIP.  Now the parent judges the file in a process of its own and the
children start and reload from the last good snapshot.

lb1 (priority 150) and lb2 (100), VRRPv3 at 0.2 s; both hosts' eth0 are polled from
outside (`ip -n NETNS`, ~every 15 ms) for the whole test.
"""
from __future__ import annotations

import subprocess
import threading
import time

import pytest
from vrrp.vrrp_hosts import Daemon, conf, wait_for, wait_vip

from .ops_hosts import ctl_json, instance, wait_log

LAB_TOPOLOGY = "five"
VIP = "192.0.2.205"
BAD_TOKENS = 524_288  # one 1 MB line of them: `-t` needed 5.8 s on it, past the 5 s stall limit


class Holders(threading.Thread):
    """Who holds the VIP, sampled until stopped."""

    def __init__(self, lab) -> None:
        super().__init__(daemon=True)
        self.lab, self.samples, self._done = lab, [], threading.Event()

    def holds(self, host: str) -> bool:
        out = subprocess.run(["ip", "-n", self.lab.netns(host), "-o", "-4", "addr", "show", "dev", "eth0"],
                             capture_output=True, text=True).stdout
        return f" {VIP}/" in out

    def run(self) -> None:
        while not self._done.is_set():
            self.samples.append((time.monotonic(), self.holds("lb1"), self.holds("lb2")))
            time.sleep(0.01)

    def stop(self) -> list[tuple[float, bool, bool]]:
        self._done.set()
        self.join()
        return self.samples


@pytest.fixture
def pair(lab, tmp_path):
    master = Daemon(lab, "lb1", "pykeepalived", "rr-m", conf(65, 150, VIP, state="MASTER"))
    backup = Daemon(lab, "lb2", "pykeepalived", "rr-b", conf(65, 100, VIP))
    backup.start(tmp_path)
    master.start(tmp_path)
    yield master, backup, tmp_path
    for d in (master, backup):
        if d.running():
            d.stop()


def vrrp_child(lab, master: Daemon) -> str:
    return lab.exec("lb1", ["cat", f"{master.dir}/vrrp.pid"]).stdout.strip()


def test_a_slow_refused_reload_moves_nothing(lab, pair) -> None:
    master, backup, tmp = pair
    wait_vip(lab, "lb1", VIP, 8)
    wait_for(lambda: instance(ctl_json(lab, "lb1", master.dir, "status"), "VI_65")["state"] == "MASTER", 5,
             "lb1 not master")
    child = vrrp_child(lab, master)
    watch = Holders(lab)
    watch.start()
    try:
        bad = master.config.replace(f"{VIP}/24", f"{VIP}/24 " + " ".join(["}x"] * BAD_TOKENS))
        lab.exec("lb1", ["tee", f"{master.dir}/keepalived.conf"], input=bad)
        master.kill("HUP")
        log = wait_log(tmp / "lb1-rr-m.log", "still running the previous configuration", timeout=120)
        time.sleep(6)  # past the supervisor's 5 s stall limit: a stalled child would be dead by now
        st = ctl_json(lab, "lb1", master.dir, "status")["result"]
        assert st["reload_failures"] == 1 and st["last_reload"]["reloaded"] is False
        assert st["last_reload"]["errors"][0].startswith(f"{master.dir}/keepalived.conf:")
        assert st["children"]["vrrp"]["restarts"] == 0 and vrrp_child(lab, master) == child
        assert "stalled" not in log and "Traceback" not in log

        # the file on disk is still the refused one: a killed child must come back with the good one
        lab.exec("lb1", ["kill", "-9", child])
        wait_for(lambda: vrrp_child(lab, master) not in ("", child), 10, "the VRRP child was not restarted")
        wait_for(lambda: instance(ctl_json(lab, "lb1", master.dir, "status"), "VI_65")["state"] == "MASTER",
                 10, "the restarted child is not master of VI_65")
        time.sleep(1.0)  # lb2 has given the VIP back (preempted) by now
    finally:
        samples = watch.stop()
    log = (tmp / "lb1-rr-m.log").read_text(errors="replace")
    assert "not starting" not in log, log[-3000:]
    both = [t for t, a, b in samples if a and b]
    none = [t for t, a, b in samples if not (a or b)]
    print(f"\n{len(samples)} samples: VIP on both hosts {len(both)} times, on neither {len(none)} times")
    assert samples[-1][1:] == (True, False), "lb1 is not the sole holder at the end"
    assert not none, "the VIP was on no host"
