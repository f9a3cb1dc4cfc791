"""keepalived's scheduling keywords: parsed with located errors, applied by the child of their role."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from pykeepalived.config.loader import loads_config
from pykeepalived.services import sched

from ..net.netns_probe import needs_netns

SCHED_RR = 2  # /proc/PID/sched "policy"


def parsed(body: str):
    return loads_config("global_defs {\n" + body + "}\n", "k.conf")


def test_ranges_are_keepalived_s_and_errors_say_where() -> None:
    _, diags = parsed("    vrrp_rt_priority 0\n    checker_priority 20\n    vrrp_rlimit_rttime 1\n"
                      "    checker_cpu_affinity 0 x\n    vrrp_cpu_affinity 1024\n")
    got = [str(e) for e in diags.errors]
    assert [e.split(": error: ")[0] for e in got] == ["k.conf:2:5", "k.conf:3:5", "k.conf:4:5", "k.conf:5:28",
                                                       "k.conf:6:23"]
    assert "at least 1" in got[0] and "at most 19" in got[1] and "at least 2" in got[2]
    assert "CPU number" in got[3] and "out of range 0-1023" in got[4]


def test_each_role_gets_its_own_keywords() -> None:
    config, diags = parsed("    vrrp_rt_priority 50\n    vrrp_no_swap\n    vrrp_cpu_affinity 1 0 1\n"
                           "    checker_priority -5\n    checker_rlimit_rttime 300000\n")
    assert not diags.errors
    g = config.global_defs
    assert sched.for_role(g, "vrrp") == sched.Scheduling("vrrp", rt_priority=50, no_swap=True, cpus=(0, 1))
    assert sched.for_role(g, "checker") == sched.Scheduling("checker", nice=-5, rlimit_rttime=300000)


def test_a_refusal_is_reported_at_the_keyword_and_changes_nothing() -> None:
    config, _ = parsed("    vrrp_cpu_affinity 1000\n")  # no machine here has CPU 1000: EINVAL
    before = os.sched_getaffinity(0)
    errors = sched.apply(sched.for_role(config.global_defs, "vrrp"), config.global_defs)
    assert len(errors) == 1 and errors[0].startswith("k.conf:2:5: error: vrrp_cpu_affinity: ")
    assert os.sched_getaffinity(0) == before


def proc_fields(pid: int) -> dict[str, str]:
    out = {}
    for name in ("sched", "status", "limits"):
        with open(f"/proc/{pid}/{name}") as f:
            for line in f:
                key, _, value = line.partition(":") if name != "limits" else (line[:26].strip(), "", line[26:])
                out[f"{name}.{key.strip()}"] = value.strip()
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read().rsplit(")", 1)[1].split()
    out["stat.nice"], out["stat.rt_priority"] = stat[16], stat[37]
    return out


@needs_netns
def test_the_vrrp_child_runs_with_its_scheduling(tmp_path) -> None:
    """A real ``pykeepalived -P`` (in a private netns): policy, priority, nice, locked memory,
    affinity and RLIMIT_RTTIME read back from /proc."""
    cpu = min(os.sched_getaffinity(0))
    conf = tmp_path / "keepalived.conf"
    conf.write_text(f"global_defs {{\n    vrrp_rt_priority 20\n    vrrp_priority -5\n    vrrp_no_swap\n"
                    f"    vrrp_rlimit_rttime 400000\n    vrrp_cpu_affinity {cpu}\n}}\n")
    proc = subprocess.Popen(["unshare", "--net", str(Path(sys.executable).with_name("pykeepalived")), "-P", "-n", "-f", str(conf),
                             "--runtime-dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30  # a loaded machine starts slowly; nothing is timed here
        while not (tmp_path / "control.sock").exists():  # up: its scheduling was applied before
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else ""
            time.sleep(0.05)
        got = proc_fields(int((tmp_path / "pykeepalived.pid").read_text()))
    finally:
        proc.terminate()
        proc.wait(30)
    assert got["sched.policy"] == str(SCHED_RR) and got["stat.rt_priority"] == "20"
    assert got["stat.nice"] == "-5"
    assert int(got["status.VmLck"].split()[0]) > 0
    assert got["status.Cpus_allowed_list"] == str(cpu)
    assert got["limits.Max realtime timeout"].split()[:2] == ["200000", "400000"]
