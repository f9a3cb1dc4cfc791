"""real_server state=drained end to end: ansible-playbook over ssh into a lab host, the
module writing fragments validated by pykeepalived -t, and the running daemon drained
through its control socket at once, without a reload; undrain reloads the weight back."""

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

PLAY = """
- hosts: lb1
  gather_facts: false
  vars:
    common: &common
      config_dir: {conf}
      runtime_dir: {run}
      pykeepalived_bin: {bin}/pykeepalived
  tasks:
    - name: Virtual server
      hapair.keepalived.virtual_server:
        <<: *common
        address: 192.0.2.100
        port: 80
        lb_algo: rr
        delay_loop: 0.5
    - name: Real servers
      hapair.keepalived.real_server:
        <<: *common
        virtual_server: {{address: 192.0.2.100, port: 80}}
        address: "{{{{ item }}}}"
        port: 8080
        state: "{{{{ 'drained' if item == drained | default('') else 'present' }}}}"
        weight: 2
        checker: {{type: TCP_CHECK, connect_timeout: 1}}
      loop: [192.0.2.21, 192.0.2.22]
      register: rs
    - name: Report
      ansible.builtin.copy:
        content: "{{{{ rs.results | to_json }}}}"
        dest: "{{{{ out }}}}"
        mode: "0644"
      delegate_to: localhost
      check_mode: false
"""


def playbook(lab: Lab, tmp: Path, *extra: str) -> list[dict]:
    coll = tmp / "collections" / "ansible_collections" / "hapair"
    if not coll.exists():
        coll.mkdir(parents=True)
        (coll / "keepalived").symlink_to(ROOT)
    play = tmp / "play.yml"
    play.write_text(PLAY.format(conf=CONF, run=RUN, bin=BIN))
    out = tmp / "out.json"
    out.unlink(missing_ok=True)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp / "collections"), ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_LOCALHOST_WARNING="False")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(lab.inventory), str(play),
                           "-e", f"out={out}", "-e", "ansible_python_interpreter=/usr/bin/python3", *extra],
                          capture_output=True, text=True, env=env, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


def status(lab: Lab) -> dict:
    out = lab.exec("lb1", [str(BIN / "pykeepalivedctl"), "status", "--json", "--runtime-dir", RUN], timeout=30)
    return json.loads(out.stdout)["result"]


def server(st: dict, addr: str) -> dict:
    (vs,) = st["lb"]["virtual_servers"]
    return next(r for r in vs["real_servers"] if r["address"] == addr)


def wait_for(pred, timeout: float = 20.0):
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


def test_drain_applies_at_runtime_without_reload_and_is_idempotent(lab: Lab, tmp_path: Path) -> None:
    for web in ("web1", "web2"):
        lab.popen(web, ["python3", "-m", "http.server", "8080", "--bind", "0.0.0.0"],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lab.exec("lb1", ["mkdir", "-p", f"{CONF}/conf.d"])
    lab.exec("lb1", ["sh", "-c", f"printf 'include conf.d/*.conf\\n' > {CONF}/keepalived.conf"])
    first = playbook(lab, tmp_path)
    assert all(r["changed"] for r in first) and all(r["runtime"] is None for r in first)  # no daemon yet

    daemon = lab.popen("lb1", [str(BIN / "pykeepalived"), "-C", "-n", "-l", "-f", f"{CONF}/keepalived.conf",
                               "--runtime-dir", RUN], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: server(status(lab), "192.0.2.21")["up"] and server(status(lab), "192.0.2.22")["up"])
        reloads = status(lab)["reloads"]

        drained = playbook(lab, tmp_path, "-e", "drained=192.0.2.21")
        web1 = drained[0]
        assert web1["changed"] and web1["weight"] == 0
        assert web1["reloaded"] is False  # applied through the control socket
        assert web1["runtime"]["drained"] is True and web1["runtime"]["weight"] == 0
        assert drained[1]["changed"] is False
        st = status(lab)
        assert server(st, "192.0.2.21")["drained"] and server(st, "192.0.2.21")["effective_weight"] == 0
        assert server(st, "192.0.2.22")["effective_weight"] == 2
        assert st["reloads"] == reloads

        again = playbook(lab, tmp_path, "-e", "drained=192.0.2.21")
        assert [r["changed"] for r in again] == [False, False]
        checked = playbook(lab, tmp_path, "-e", "drained=192.0.2.21", "--check")
        assert [r["changed"] for r in checked] == [False, False]

        would_undrain = playbook(lab, tmp_path, "--check")
        assert would_undrain[0]["changed"] is True
        assert server(status(lab), "192.0.2.21")["drained"] is True  # check mode touched nothing

        undrained = playbook(lab, tmp_path)
        assert undrained[0]["changed"] and undrained[0]["reloaded"] is True  # the weight comes back by reload
        wait_for(lambda: server(status(lab), "192.0.2.21")["effective_weight"] == 2)
        assert not server(status(lab), "192.0.2.21")["drained"]
        assert daemon.poll() is None
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)
