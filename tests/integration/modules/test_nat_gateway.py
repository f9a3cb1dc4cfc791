"""nat_gateway on a real systemd lab host (web1 of the "nat" lab), over ssh with
ansible-playbook: check mode writes nothing, the first call writes the unit, reloads
systemd, enables the unit and sets the route; the second changes nothing; a route changed
by hand, and a changed unit, are each put right alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lab import Lab

LAB_TOPOLOGY = "nat"
ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
UNIT = "/etc/systemd/system/pykeepalived-nat-gateway-test.service"
GATEWAY = "192.0.2.1"
TEXT = ("[Unit]\nDescription=test route\n[Service]\nType=oneshot\nRemainAfterExit=yes\n"
        f"ExecStart=/sbin/ip -4 route replace default via {GATEWAY} dev eth0\n[Install]\nWantedBy=multi-user.target\n")

PLAY = """
- hosts: web1
  gather_facts: false
  tasks:
    - name: The call
      hapair.keepalived.nat_gateway:
        gateway: {gateway}
        interface: eth0
        unit_path: {unit}
        unit_content: "{{{{ text }}}}"
      check_mode: {check}
      diff: true
      register: result
    - name: Report
      ansible.builtin.copy:
        content: "{{{{ result | to_json }}}}"
        dest: "{{{{ out }}}}"
        mode: "0644"
      delegate_to: localhost
      check_mode: false
"""


def call(lab: Lab, tmp: Path, text: str = TEXT, check: bool = False) -> dict:
    coll = tmp / "collections" / "ansible_collections" / "hapair"
    if not coll.exists():
        coll.mkdir(parents=True)
        (coll / "keepalived").symlink_to(ROOT)
    play, out, extra = tmp / "play.yml", tmp / "out.json", tmp / "extra.json"
    play.write_text(PLAY.format(gateway=GATEWAY, unit=UNIT, check=str(check).lower()))
    extra.write_text(json.dumps({"text": text, "out": str(out)}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp / "collections"), ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_NOCOLOR="1", ANSIBLE_HOME=str(ROOT / ".cache/ansible"))
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(lab.inventory), str(play), "-e", f"@{extra}",
                           "-e", "ansible_python_interpreter=/usr/bin/python3"],
                          capture_output=True, text=True, env=env, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


def on_web1(lab: Lab, *argv: str) -> str:
    return lab.exec("web1", list(argv), check=False, timeout=30).stdout.strip()


def test_unit_enable_and_route_in_one_call(lab: Lab, tmp_path: Path) -> None:
    route_before = on_web1(lab, "ip", "-4", "route", "show", "default")
    checked = call(lab, tmp_path, check=True)
    assert checked["changed"] and checked["unit_changed"] and checked["enabled_now"] and checked["route_changed"]
    assert len(checked["diff"]) == 2 and on_web1(lab, "sh", "-c", f"test -e {UNIT} && echo present || echo absent") == "absent"
    assert on_web1(lab, "ip", "-4", "route", "show", "default") == route_before

    first = call(lab, tmp_path)
    assert (first["unit_changed"], first["enabled_now"], first["route_changed"]) == (True, True, True), first
    assert on_web1(lab, "cat", UNIT) == TEXT.rstrip("\n")
    assert on_web1(lab, "stat", "-c", "%a %U", UNIT) == "644 root"
    assert on_web1(lab, "systemctl", "is-enabled", os.path.basename(UNIT)) == "enabled"
    assert on_web1(lab, "ip", "-4", "route", "show", "default").startswith(f"default via {GATEWAY} dev eth0")

    again = call(lab, tmp_path)
    assert again["changed"] is False and again["diff"] == [], again

    lab.exec("web1", ["ip", "-4", "route", "replace", "default", "via", "192.0.2.11", "dev", "eth0"])
    fixed = call(lab, tmp_path)
    assert (fixed["unit_changed"], fixed["enabled_now"], fixed["route_changed"]) == (False, False, True), fixed
    assert fixed["route_before"].startswith("default via 192.0.2.11 ")
    assert on_web1(lab, "ip", "-4", "route", "show", "default").startswith(f"default via {GATEWAY} dev eth0")

    changed_unit = call(lab, tmp_path, text=TEXT.replace("test route", "test route, edited"))
    assert (changed_unit["unit_changed"], changed_unit["enabled_now"], changed_unit["route_changed"]) == (True, False, False)
    # the call reloaded systemd: it knows the new text
    assert on_web1(lab, "systemctl", "show", "-p", "NeedDaemonReload", os.path.basename(UNIT)) == "NeedDaemonReload=no"
    assert on_web1(lab, "systemctl", "show", "-p", "Description", "--value", os.path.basename(UNIT)) == "test route, edited"
