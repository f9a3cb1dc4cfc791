"""keepalived_info: the daemon's status mapped to facts (pure), the readiness lines the role
waits on, and the module in a real ansible-playbook run: one clear failure line when no
daemon runs, in check mode too, and a bad gather value refused by the argument spec."""

from __future__ import annotations

import importlib
import sys

import pytest
from module_runner import ROOT


@pytest.fixture(scope="module")
def info(tmp_path_factory):
    base = tmp_path_factory.mktemp("coll")
    (base / "ansible_collections" / "hapair").mkdir(parents=True)
    (base / "ansible_collections" / "hapair" / "keepalived").symlink_to(ROOT)
    sys.path.insert(0, str(base))
    try:
        yield importlib.import_module("ansible_collections.hapair.keepalived.plugins.module_utils.keepalived_info")
    finally:
        sys.path.remove(str(base))


def instance(name, state, received=0, master="198.51.100.11"):
    """One entry as vrrp/instance.py Instance.status() writes it."""
    return {"name": name, "interface": "eth0", "vrid": 51, "version": 2, "state": state, "priority": 150,
            "effective_priority": 140, "address": "198.51.100.11", "master_address": master,
            "master_priority": 150, "advert_interval": 1.0, "virtual_ipaddress": ["198.51.100.50/24"],
            "tracked": [{"name": "chk", "weight": -10, "up": False}],
            "counters": {"adverts_sent": 7, "adverts_received": received, "priority_zero_sent": 0,
                         "priority_zero_received": 1, "became_master": 1, "released_master": 0,
                         "transitions": 2, "garp_bursts": 1, "drops": {"auth": 2, "ttl": 1, "vrid": 0}}}


STATUS = {
    "pid": 321, "version": "0.1.0", "config": "/etc/pykeepalived/keepalived.conf", "started": 1000.0,
    "dumped": 1060.5, "subsystems": ["vrrp", "check"], "reloads": 2, "reload_failures": 1,
    "last_reload": {"time": 1050.0, "reloaded": False, "errors": ["/etc/pykeepalived/keepalived.conf:3:1: error: x"]},
    "vrrp": {"instances": [instance("web", "MASTER"), instance("web_gw", "BACKUP", received=4, master="192.0.2.12")],
             "socket_drops": {"eth0/ipv4": {"ttl": 0}},
             "sync_groups": [{"name": "web", "state": "MASTER", "members": ["web", "web_gw"]}]},
    "lb": {"backend": "nftables", "reconciles": 3, "checkers": [],
           "virtual_servers": [{"virtual_server": "TCP 198.51.100.50:80", "quorum_up": None,
                                "services": ["TCP 198.51.100.50:80"],
                                "real_servers": [
                                    {"address": "192.0.2.21", "port": 80, "up": True, "weight": 3,
                                     "effective_weight": 0, "drained": True, "in_table": True,
                                     "kernel": [{"service": "TCP 198.51.100.50:80", "weight": 0, "method": "nat",
                                                 "active": 2, "inactive": 5}]},
                                    {"address": "192.0.2.22", "port": 80, "up": False, "weight": 1,
                                     "effective_weight": 0, "drained": False, "in_table": False, "kernel": []}]}]},
    "children": {"vrrp": {"pid": 322, "up": True, "restarts": 0, "last_exit": None}},
}


def test_daemon_facts(info):
    d = info.summarize(STATUS)["daemon"]
    assert (d["version"], d["pid"], d["uptime"], d["reloads"], d["reload_failures"]) == ("0.1.0", 321, 60.5, 2, 1)
    assert d["last_reload"] == {"time": 1050.0, "reloaded": False,
                                "errors": ["/etc/pykeepalived/keepalived.conf:3:1: error: x"]}
    assert d["backend"] == "nftables" and d["subsystems"] == ["vrrp", "check"]
    assert d["children"] == {"vrrp": {"pid": 322, "up": True, "restarts": 0}}


def test_vrrp_facts(info):
    v = info.summarize(STATUS)["vrrp"]
    web, gw = v["instances"]
    assert (web["state"], web["priority"], web["effective_priority"]) == ("MASTER", 150, 140)
    assert web["vips_held"] == ["198.51.100.50/24"] and gw["vips_held"] == []
    assert (gw["master_address"], gw["adverts_received"], web["adverts_sent"]) == ("192.0.2.12", 4, 7)
    assert web["drops"] == {"auth": 2, "ttl": 1, "vrid": 0} and web["dropped"] == 3
    assert v["masters"] == ["web"] and v["vips_held"] == ["198.51.100.50/24"]
    assert v["sync_groups"] == [{"name": "web", "state": "MASTER", "members": ["web", "web_gw"]}]


def test_lb_facts(info):
    (vs,) = info.summarize(STATUS)["lb"]["virtual_servers"]
    web1, web2 = vs["real_servers"]
    assert vs["name"] == "TCP 198.51.100.50:80" and vs["real_servers_up"] == 1
    assert (web1["drained"], web1["weight"], web1["configured_weight"]) == (True, 0, 3)
    assert (web1["active_connections"], web1["inactive_connections"]) == (2, 5)
    assert (web2["up"], web2["active_connections"], web2["in_table"]) == (False, 0, False)


def test_gather_and_absent_subsystems(info):
    only_vrrp = info.summarize(STATUS, ["vrrp"])
    assert set(only_vrrp) == {"daemon", "vrrp"}
    bare = info.summarize({"pid": 1, "version": "0.1.0", "vrrp": None, "lb": None, "last_reload": None})
    assert bare["vrrp"] is None and bare["lb"] is None
    assert bare["daemon"]["last_reload"] is None and bare["daemon"]["uptime"] is None


def test_unready_lines_name_host_and_instance(info):
    facts = info.summarize(STATUS)
    assert info.unready(facts, [{"name": "web", "state": "MASTER"}, {"name": "web_gw", "state": "BACKUP"}], "lb1") == []
    assert info.unready(facts, [{"name": "web", "state": "BACKUP"}], "lb1") == ["lb1: instance web is MASTER, want BACKUP"]
    assert info.unready(facts, [{"name": "api", "state": "MASTER"}], "lb1") == ["lb1: instance api is not running"]
    deaf = info.summarize(dict(STATUS, vrrp=dict(STATUS["vrrp"], instances=[instance("web_gw", "BACKUP")])))
    assert info.unready(deaf, [{"name": "web_gw", "state": "BACKUP"}], "lb2") == [
        "lb2: instance web_gw is BACKUP but has received no advert from a master"]
    failed = {"failed": True, "msg": "pykeepalived is not running: no control socket at /run/pykeepalived/control.sock"}
    assert info.unready(failed, [{"name": "web", "state": "MASTER"}], "lb1") == [f"lb1: {failed['msg']}"]
    # until: retries exhausted: the last answer, marked failed by Ansible, still says why
    exhausted = dict(deaf, failed=True, msg="Task failed: Action failed: Unknown error.")
    assert info.unready(exhausted, [{"name": "web_gw", "state": "BACKUP"}], "lb2") == [
        "lb2: instance web_gw is BACKUP but has received no advert from a master"]


def backup_hearing(master_priority):
    """A BACKUP at effective priority 140 that hears a master at ``master_priority``."""
    entry = dict(instance("web", "BACKUP", 3, master="198.51.100.12"), master_priority=master_priority)
    return {"vrrp": dict(STATUS["vrrp"], instances=[entry])}


def test_unready_a_master_that_will_not_preempt_may_stay_backup(info):
    lower = info.summarize(dict(STATUS, **backup_hearing(100)))
    assert info.unready(lower, [{"name": "web", "state": "MASTER", "preempt": False}], "lb1") == []
    # it outranks the master it hears: it will preempt, so it is not back yet
    assert info.unready(lower, [{"name": "web", "state": "MASTER"}], "lb1") == ["lb1: instance web is BACKUP, want MASTER"]
    # the master it hears outranks it (its tracking lowered it to 140): VRRP keeps it BACKUP
    assert info.unready(info.summarize(dict(STATUS, **backup_hearing(150))), [{"name": "web", "state": "MASTER"}]) == []


def test_module_without_daemon_fails_with_one_line(runner):
    plain, checked, bad = runner.play(
        {"module": "keepalived_info", "args": {"runtime_dir": str(runner.runtime_dir)}, "bare": True},
        {"module": "keepalived_info", "args": {"runtime_dir": str(runner.runtime_dir)}, "check": True, "bare": True},
        {"module": "keepalived_info", "args": {"runtime_dir": str(runner.runtime_dir), "gather": ["vrrp", "lvs"]}, "bare": True})
    sock = runner.runtime_dir / "control.sock"
    for result in (plain, checked):
        assert result["failed"] and result["changed"] is False
        assert result["msg"] == f"pykeepalived is not running: no control socket at {sock}"
    assert bad["failed"] and "gather" in bad["msg"] and "lvs" in bad["msg"]
