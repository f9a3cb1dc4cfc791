"""keepalived_info end to end: a real VRRP pair (lb1 master, lb2 backup) with a virtual server
over web1/web2 in the lab, the module run with ansible-playbook over ssh on both load
balancers: who is master, the VIP held, adverts, real servers and a drain, a refused reload's
errors, check mode, gather, and the one-line failure once a daemon is stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from lab import Lab
from lab.shell import CommandError

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
RUN = "/run/pykeepalived-infotest"
CONF = "/etc/pykeepalived-infotest/keepalived.conf"
VIP = "192.0.2.50"

CONFIG = """global_defs {{
    router_id {host}
}}
vrrp_instance web {{
    state {state}
    interface eth0
    virtual_router_id 50
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        {vip}/24
    }}
}}
virtual_server {vip} 80 {{
    protocol TCP
    delay_loop 0.5
    lb_algo rr
    lb_kind NAT
    real_server 192.0.2.21 8080 {{
        weight 2
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
    real_server 192.0.2.22 8080 {{
        weight 3
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
}}
"""

PLAY = """
- hosts: lb1:lb2
  gather_facts: false
  tasks:
    - name: Everything
      hapair.keepalived.keepalived_info:
        runtime_dir: {run}
      register: full
    - name: Check mode, only lb
      hapair.keepalived.keepalived_info:
        runtime_dir: {run}
        gather: [lb]
      check_mode: true
      register: lb_only
      ignore_errors: true
    - name: Report
      ansible.builtin.copy:
        content: "{{{{ {{'full': full, 'lb_only': lb_only}} | to_json }}}}"
        dest: "{{{{ out }}}}-{{{{ inventory_hostname }}}}.json"
        mode: "0644"
      delegate_to: localhost
      check_mode: false
"""


def playbook(lab: Lab, tmp: Path, expect_rc: int = 0) -> dict[str, dict]:
    coll = tmp / "collections" / "ansible_collections" / "hapair"
    if not coll.exists():
        coll.mkdir(parents=True)
        (coll / "keepalived").symlink_to(ROOT)
    play = tmp / "play.yml"
    play.write_text(PLAY.format(run=RUN))
    out = tmp / "out"
    for old in tmp.glob("out-*.json"):
        old.unlink()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp / "collections"), ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(lab.inventory), str(play),
                           "-e", f"out={out}", "-e", "ansible_python_interpreter=/usr/bin/python3"],
                          capture_output=True, text=True, env=env, timeout=180, check=False)
    assert proc.returncode == expect_rc, proc.stdout[-3000:] + proc.stderr[-2000:]
    results = {p.stem.split("-", 1)[1]: json.loads(p.read_text()) for p in tmp.glob("out-*.json")}
    results["_stdout"] = proc.stdout
    return results


def ctl(lab: Lab, host: str, *args: str) -> dict:
    out = lab.exec(host, [str(BIN / "pykeepalivedctl"), *args, "--json", "--runtime-dir", RUN], timeout=30)
    return json.loads(out.stdout)["result"]


def wait_for(pred, timeout: float = 30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = pred()
            if value:
                return value
        except (CommandError, KeyError, IndexError, StopIteration, ValueError, TypeError):
            pass
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def settled(lab: Lab) -> bool:
    one, two = ctl(lab, "lb1", "status"), ctl(lab, "lb2", "status")
    (m,), (b,) = one["vrrp"]["instances"], two["vrrp"]["instances"]
    servers = [rs for st in (one, two) for rs in st["lb"]["virtual_servers"][0]["real_servers"]]
    return (m["state"], b["state"]) == ("MASTER", "BACKUP") and b["counters"]["adverts_received"] > 0 \
        and all(rs["up"] for rs in servers)


def test_keepalived_info_reports_the_pair(lab: Lab, tmp_path: Path) -> None:
    for web in ("web1", "web2"):
        lab.popen(web, ["python3", "-m", "http.server", "8080", "--bind", "0.0.0.0"],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    daemons = {}
    for host, state, priority in (("lb1", "MASTER", 150), ("lb2", "BACKUP", 100)):
        lab.exec(host, ["mkdir", "-p", os.path.dirname(CONF)])
        lab.exec(host, ["sh", "-c", f"cat > {CONF}"], input=CONFIG.format(host=host, state=state,
                                                                         priority=priority, vip=VIP))
        daemons[host] = lab.popen(host, [str(BIN / "pykeepalived"), "-n", "-l", "-f", CONF, "--runtime-dir", RUN],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: settled(lab))
        ctl(lab, "lb1", "drain", "192.0.2.21", "8080")
        lab.exec("lb2", ["sh", "-c", f"echo 'vrrp_instance broken {{' >> {CONF}"])  # lb2 refuses this reload
        lab.exec("lb2", [str(BIN / "pykeepalivedctl"), "reload", "--runtime-dir", RUN], check=False, timeout=30)
        got = playbook(lab, tmp_path)
        one, two = got["lb1"]["full"], got["lb2"]["full"]
        assert one["changed"] is False and two["changed"] is False

        direct = ctl(lab, "lb1", "status")
        assert one["daemon"]["pid"] == direct["pid"] and one["daemon"]["version"] == direct["version"]
        assert one["daemon"]["uptime"] > 0 and one["daemon"]["reloads"] == 0 and one["daemon"]["last_reload"] is None
        assert one["daemon"]["backend"] in ("ipvs", "nftables")

        (master,), (backup,) = one["vrrp"]["instances"], two["vrrp"]["instances"]
        assert (master["name"], master["state"], master["priority"]) == ("web", "MASTER", 150)
        assert master["vips_held"] == [f"{VIP}/24"] and one["vrrp"]["vips_held"] == [f"{VIP}/24"] and one["vrrp"]["masters"] == ["web"]
        assert master["adverts_sent"] > 0
        assert (backup["state"], backup["vips_held"], two["vrrp"]["masters"]) == ("BACKUP", [], [])
        assert backup["master_address"] == "192.0.2.11" and backup["master_priority"] == 150
        assert backup["adverts_received"] > 0 and backup["effective_priority"] == 100
        assert isinstance(backup["drops"], dict) and backup["dropped"] == sum(backup["drops"].values())

        (vs,) = one["lb"]["virtual_servers"]
        web1, web2 = sorted(vs["real_servers"], key=lambda rs: rs["address"])
        assert vs["name"] == f"TCP {VIP}:80" and vs["real_servers_up"] == 2
        assert (web1["drained"], web1["weight"], web1["configured_weight"]) == (True, 0, 2)
        assert (web2["drained"], web2["weight"], web2["configured_weight"]) == (False, 3, 3)
        assert web1["active_connections"] == 0 and web1["up"] is True

        checked = got["lb1"]["lb_only"]
        assert checked["changed"] is False and "vrrp" not in checked and "lb" in checked
        assert checked["lb"]["virtual_servers"][0]["real_servers_up"] == 2

        refused = two["daemon"]
        assert (refused["reloads"], refused["reload_failures"]) == (0, 1)
        assert refused["last_reload"]["reloaded"] is False
        assert refused["last_reload"]["errors"] and any(CONF in line for line in refused["last_reload"]["errors"])

        # A stopped daemon: one line on lb2, lb1 still answers. (The Popen is the nsenter
        # wrapper; the daemon gets its SIGTERM by its pid inside the host.)
        lab.exec("lb2", ["kill", "-TERM", str(two["daemon"]["pid"])])
        daemons["lb2"].wait(timeout=30)
        got = playbook(lab, tmp_path, expect_rc=2)
        assert "lb2" not in got or "full" not in got.get("lb2", {})
        assert "pykeepalived is not running: no control socket at " + RUN + "/control.sock" in got["_stdout"] \
            or "pykeepalived does not answer" in got["_stdout"]
        assert got["lb1"]["full"]["vrrp"]["instances"][0]["state"] == "MASTER"
    finally:
        for host, proc in daemons.items():
            if proc.poll() is None:
                lab.exec(host, ["sh", "-c", f"kill -TERM $(cat {RUN}/pykeepalived.pid)"], check=False)
                proc.wait(timeout=30)
