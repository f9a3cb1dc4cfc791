"""real_server_state: the request it sends and the facts it returns (pure), and the module in a
real ansible-playbook run: one clear failure line, changing nothing, for a host without a
daemon, a weight out of range and an address that is not one; the argument spec refuses a
state it does not know. (With a daemon: daemon/tests/ops/test_real_server_state.py and
tests/integration/modules/test_real_server_state.py.)"""

from __future__ import annotations

import importlib
import sys

import pytest
from module_runner import ROOT, snapshot


@pytest.fixture(scope="module")
def rss(tmp_path_factory):
    base = tmp_path_factory.mktemp("coll")
    (base / "ansible_collections" / "hapair").mkdir(parents=True)
    (base / "ansible_collections" / "hapair" / "keepalived").symlink_to(ROOT)
    sys.path.insert(0, str(base))
    try:
        yield importlib.import_module("ansible_collections.hapair.keepalived.plugins.module_utils.real_server_state")
    finally:
        sys.path.remove(str(base))


def params(**kw):
    out = dict(address="192.0.2.21", port=None, virtual_server=None, state="drained", weight=None, wait=False,
               wait_timeout=60.0, runtime_dir="/run/pykeepalived")
    out.update(kw)
    return out


def test_build_request(rss):
    assert rss.build_request(params(), "192.0.2.21", False) == {"address": "192.0.2.21", "state": "drained",
                                                                "dry_run": False}
    vs = {"address": "2001:DB8::1", "port": 443, "protocol": None, "fwmark": None, "group": None}
    req = rss.build_request(params(port=80, virtual_server=vs, weight=0, wait=True, wait_timeout=9.0,
                                   state="enabled"), "192.0.2.21", False)
    assert req == {"address": "192.0.2.21", "state": "enabled", "dry_run": False, "port": 80,
                   "virtual_server": "TCP [2001:db8::1]:443", "weight": 0, "wait": True, "timeout": 9.0}
    checked = rss.build_request(params(wait=True), "192.0.2.21", True)
    assert checked["dry_run"] is True and "wait" not in checked  # check mode never waits


def test_bad_input_and_wait_failures(rss):
    assert rss.bad_input(params(weight=65535)) is None
    assert rss.bad_input(params(weight=65536)) == "weight 65536 is out of range: a runtime weight is 0..65535"
    assert rss.bad_input(params(weight=-1)).startswith("weight -1 is out of range")
    assert rss.bad_input(params(port=0)) == "port 0 is out of range (1..65535)"
    assert rss.wait_failure("192.0.2.21", {"done": True, "for": "idle", "active": 0}, 5) is None
    assert rss.wait_failure("192.0.2.21", {"done": False, "for": "idle", "active": 3}, 5) == (
        "192.0.2.21 still has 3 active connection(s) after wait_timeout 5 s")
    assert rss.wait_failure("192.0.2.21", {"done": False, "for": "up", "down": ["TCP 192.0.2.80:80"]}, 5) == (
        "192.0.2.21 is not up after wait_timeout 5 s (down in: TCP 192.0.2.80:80)")


def test_facts_and_diff(rss):
    view = {"virtual_server": "TCP 192.0.2.80:80", "address": "192.0.2.21", "port": 80, "up": True, "weight": 2,
            "runtime_weight": None, "drained": True, "effective_weight": 0, "in_kernel": True, "active": 1,
            "inactive": 4}
    assert rss.server_facts(view) == {"virtual_server": "TCP 192.0.2.80:80", "address": "192.0.2.21", "port": 80,
                                      "up": True, "drained": True, "weight": 0, "configured_weight": 2,
                                      "runtime_weight": None, "active_connections": 1, "inactive_connections": 4}
    assert rss.state_of([view]) == {"TCP 192.0.2.80:80": {"drained": True, "runtime_weight": None}}


def test_module_fails_with_one_line_and_changes_nothing(runner):
    before = snapshot(runner.tmp)
    step = {"module": "real_server_state", "bare": True}
    run = str(runner.runtime_dir)
    r = runner.play(dict(step, args={"address": "192.0.2.21", "state": "drained", "runtime_dir": run}),
                    dict(step, args={"address": "192.0.2.21", "state": "drained", "runtime_dir": run}, check=True),
                    dict(step, args={"address": "192.0.2.21", "state": "enabled", "weight": 70000,
                                     "runtime_dir": run}),
                    dict(step, args={"address": "web1", "state": "drained", "runtime_dir": run}),
                    dict(step, args={"address": "192.0.2.21", "state": "off", "runtime_dir": run}))
    assert all(x["failed"] and not x["changed"] for x in r)
    assert r[0]["msg"] == r[1]["msg"] == f"no pykeepalived daemon running: {run}/control.sock does not exist"
    assert r[2]["msg"] == "weight 70000 is out of range: a runtime weight is 0..65535"
    assert r[3]["msg"] == "address 'web1' is not an IP address"
    assert "value of state must be one of: enabled, drained" in r[4]["msg"]
    after = snapshot(runner.tmp)
    assert {k: v for k, v in after.items() if k.startswith(("etc", "run"))} == \
        {k: v for k, v in before.items() if k.startswith(("etc", "run"))}
