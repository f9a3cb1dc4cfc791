"""real_server_state and real_server end to end: ansible-playbook over ssh into a lab host
running the daemon (nftables data plane, TCP checkers against real HTTP servers on web1/web2).

- real_server_state drains at runtime, idempotently (check mode too), waits for idle and for
  up, and the state survives a reload and a restart of the daemon;
- real_server with state=present (what the role runs) never undoes a runtime drain;
  state=drained (deprecated) is a config-level drain: weight 0 in the fragment, by reload;
- bad input fails with one clear line each and changes nothing: no daemon on the host, an
  unknown virtual server, an unknown real server, a weight out of range."""

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
RUN = "/run/pykeepalived-modtest"
CONF = "/etc/pykeepalived"
VS = "TCP 192.0.2.100:80"

HEAD = """
- hosts: {hosts}
  gather_facts: false
  vars:
    common: &common
      config_dir: {conf}
      runtime_dir: {run}
      pykeepalived_bin: {bin}/pykeepalived
  tasks:
"""
CONFIG_TASKS = """
    - name: Virtual server
      hapair.keepalived.virtual_server:
        <<: *common
        address: 192.0.2.100
        port: 80
        lb_algo: rr
        delay_loop: 0.5
    - name: Real servers (as the role writes them)
      hapair.keepalived.real_server:
        <<: *common
        virtual_server: {{address: 192.0.2.100, port: 80}}
        address: "{{{{ item }}}}"
        port: 8080
        state: "{{{{ 'drained' if item == drained | default('') else 'present' }}}}"
        weight: 2
        checker: {{type: TCP_CHECK, connect_timeout: 1}}
      loop: [192.0.2.21, 192.0.2.22]
      register: r
"""
STATE_TASK = """
    - name: Runtime state
      hapair.keepalived.real_server_state:
        runtime_dir: {run}
{args}
      register: r
      ignore_errors: true
"""
REPORT = """
    - name: Report
      ansible.builtin.copy:
        content: "{{ r | to_json }}"
        dest: "{{ out }}"
        mode: "0644"
      delegate_to: localhost
      check_mode: false
"""


def playbook(lab: Lab, tmp: Path, body: str, *extra: str, hosts: str = "lb1") -> dict:
    coll = tmp / "collections" / "ansible_collections" / "hapair"
    if not coll.exists():
        coll.mkdir(parents=True)
        (coll / "keepalived").symlink_to(ROOT)
    play = tmp / "play.yml"
    play.write_text(HEAD.format(hosts=hosts, conf=CONF, run=RUN, bin=BIN) + body + REPORT)
    out = tmp / "out.json"
    out.unlink(missing_ok=True)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp / "collections"), ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_DEPRECATION_WARNINGS="True")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(lab.inventory), str(play),
                           "-e", f"out={out}", "-e", "ansible_python_interpreter=/usr/bin/python3", *extra],
                          capture_output=True, text=True, env=env, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


def config_run(lab: Lab, tmp: Path, *extra: str) -> list[dict]:
    return playbook(lab, tmp, CONFIG_TASKS.format(), *extra)["results"]


def state_run(lab: Lab, tmp: Path, args: dict, *extra: str, hosts: str = "lb1") -> dict:
    lines = "\n".join(f"        {k}: {json.dumps(v)}" for k, v in args.items())
    return playbook(lab, tmp, STATE_TASK.format(run=RUN, args=lines), *extra, hosts=hosts)


def status(lab: Lab) -> dict:
    out = lab.exec("lb1", [str(BIN / "pykeepalivedctl"), "status", "--json", "--runtime-dir", RUN], timeout=30)
    return json.loads(out.stdout)["result"]


def server(st: dict, addr: str) -> dict:
    (vs,) = st["lb"]["virtual_servers"]
    return next(r for r in vs["real_servers"] if r["address"] == addr)


def overrides(lab: Lab) -> str:
    return lab.exec("lb1", ["sh", "-c", f"cat {RUN}/lb-overrides.json 2>/dev/null || echo none"]).stdout


def wait_for(pred, timeout: float = 30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = pred()
            if value:
                return value
        except (CommandError, KeyError, StopIteration, ValueError, TypeError):
            pass
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def start_daemon(lab: Lab):
    proc = lab.popen("lb1", [str(BIN / "pykeepalived"), "-C", "-n", "-l", "-f", f"{CONF}/keepalived.conf",
                             "--runtime-dir", RUN], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: server(status(lab), "192.0.2.21")["up"] and server(status(lab), "192.0.2.22")["up"])
    return proc


def stop_daemon(proc) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def test_runtime_drain_survives_the_role_reloads_and_restarts(lab: Lab, tmp_path: Path) -> None:
    for web in ("web1", "web2"):
        lab.popen(web, ["python3", "-m", "http.server", "8080", "--bind", "0.0.0.0"],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lab.exec("lb1", ["mkdir", "-p", f"{CONF}/conf.d"])
    lab.exec("lb1", ["sh", "-c", f"printf 'include conf.d/*.conf\\n' > {CONF}/keepalived.conf"])

    # bad input 1: no daemon on the host (yet): one line, nothing written
    nodaemon = state_run(lab, tmp_path, {"address": "192.0.2.21", "state": "drained"})
    assert nodaemon["failed"] and nodaemon["msg"] == f"no pykeepalived daemon running: {RUN}/control.sock does not exist"
    assert overrides(lab).strip() == "none"

    first = config_run(lab, tmp_path)
    assert all(r["changed"] for r in first) and all(r["runtime"] is None for r in first)
    daemon = start_daemon(lab)
    try:
        drain = {"address": "192.0.2.21", "port": 8080, "state": "drained", "wait": True, "wait_timeout": 30}
        checked = state_run(lab, tmp_path, drain, "--check")
        assert checked["changed"] is True and checked["servers"][0]["drained"] is True and "waited" not in checked
        assert not server(status(lab), "192.0.2.21")["drained"]  # check mode changed nothing

        drained = state_run(lab, tmp_path, drain, "--diff")
        assert drained["changed"] and drained["waited"] == {"done": True, "for": "idle", "active": 0}
        assert drained["diff"] == {"before": {VS: {"drained": False, "runtime_weight": None}},
                                   "after": {VS: {"drained": True, "runtime_weight": None}}}
        (view,) = drained["servers"]
        assert (view["virtual_server"], view["weight"], view["configured_weight"]) == (VS, 0, 2)
        assert state_run(lab, tmp_path, drain)["changed"] is False
        assert state_run(lab, tmp_path, drain, "--check")["changed"] is False

        # the role's next run passes state=present: the runtime drain stays
        reloads = status(lab)["reloads"]
        again = config_run(lab, tmp_path)
        assert [r["changed"] for r in again] == [False, False]
        assert again[0]["runtime"]["drained"] is True and again[0]["runtime"]["weight"] == 0
        assert status(lab)["reloads"] == reloads

        # a config change and its reload keep it too (web2's weight changes)
        lab.exec("lb1", ["sed", "-i", "s/weight 2/weight 3/",
                         f"{CONF}/conf.d/virtual_server-192.0.2.100_80.d/real_server-192.0.2.22_8080.conf"])
        lab.exec("lb1", [str(BIN / "pykeepalivedctl"), "reload", "--runtime-dir", RUN])
        st = status(lab)
        assert server(st, "192.0.2.21")["drained"] and server(st, "192.0.2.22")["effective_weight"] == 3

        # bad input 2-4: unknown virtual server, unknown real server, weight out of range
        before = overrides(lab)
        bad_vs = state_run(lab, tmp_path, {"address": "192.0.2.21", "state": "enabled",
                                           "virtual_server": {"address": "192.0.2.99", "port": 80}})
        assert bad_vs["failed"] and bad_vs["msg"] == ("daemon refused real-server: no virtual server "
                                                      f"'TCP 192.0.2.99:80'; virtual servers: {VS}")
        bad_rs = state_run(lab, tmp_path, {"address": "192.0.2.77", "state": "drained"})
        assert bad_rs["failed"] and bad_rs["msg"] == ("daemon refused real-server: no real server 192.0.2.77; "
                                                      "real servers: 192.0.2.21:8080, 192.0.2.22:8080")
        bad_w = state_run(lab, tmp_path, {"address": "192.0.2.22", "state": "enabled", "weight": 70000})
        assert bad_w["failed"] and bad_w["msg"] == "weight 70000 is out of range: a runtime weight is 0..65535"
        assert overrides(lab) == before and server(status(lab), "192.0.2.22")["effective_weight"] == 3

        # a restart keeps the runtime state (its one home is the runtime dir)
        stop_daemon(daemon)
        daemon = start_daemon(lab)
        assert server(status(lab), "192.0.2.21")["drained"] is True

        enable = {"address": "192.0.2.21", "state": "enabled", "weight": 5, "wait": True, "wait_timeout": 30}
        enabled = state_run(lab, tmp_path, enable)
        assert enabled["changed"] and enabled["waited"] == {"done": True, "for": "up", "down": []}
        (view,) = enabled["servers"]
        assert (view["drained"], view["runtime_weight"], view["weight"], view["up"]) == (False, 5, 5, True)
        assert state_run(lab, tmp_path, enable)["changed"] is False

        # deprecated state=drained: a config-level drain (fragment weight 0, applied by the reload)
        old = config_run(lab, tmp_path, "-e", "drained=192.0.2.22")
        assert old[1]["changed"] and old[1]["weight"] == 0 and old[1]["reloaded"] is True
        assert wait_for(lambda: server(status(lab), "192.0.2.22")["weight"] == 0)
        assert server(status(lab), "192.0.2.22")["drained"] is False  # config, not a runtime drain
        assert daemon.poll() is None
    finally:
        stop_daemon(daemon)
