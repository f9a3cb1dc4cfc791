"""hapair.keepalived.vrrp_instance in real ansible-playbook runs."""

from __future__ import annotations

import re
import stat

from module_runner import snapshot

VI_1 = {"name": "VI_1", "interface": "eth0", "vrid": 51, "priority": 150, "initial_state": "MASTER",
        "auth_pass": "s3cret", "preempt": False, "advert_int": 1,
        "vips": ["192.0.2.10/24", {"address": "192.0.2.11/24", "dev": "eth0", "label": "eth0:web"}],
        "unicast_src_ip": "192.0.2.1", "unicast_peers": ["192.0.2.2", "192.0.2.3"],
        "track_interfaces": ["eth1", {"name": "eth2", "weight": -20}],
        "notify_master": "/usr/bin/logger -t vrrp became master", "garp_master_delay": 2}


def step(args, **kw):
    return dict(module="vrrp_instance", args=args, **kw)


def test_create_idempotent_check_and_diff(runner):
    frag = runner.fragment("vrrp_instance-VI_1.conf")
    r = runner.play(
        step(VI_1, diff=True),
        step(VI_1),
        step(VI_1, check=True),
        step(dict(VI_1, priority=120), check=True, diff=True),
        step({"name": "VI_new", "interface": "eth0", "vrid": 60}, check=True),
    )
    created, again, check_same, check_changed, check_new = r
    assert created["changed"] is True and created["fragment"] == str(frag)
    assert created["reloaded"] is False  # no daemon runs
    [d] = created["diff"]
    assert d["before"] == "" and d["before_header"].endswith("(absent)")
    assert "virtual_router_id 51" in d["after"] and "auth_pass ********" in d["after"]  # no_log masks the secret
    assert again["changed"] is False and check_same["changed"] is False
    assert check_changed["changed"] is True
    assert "priority 150" in check_changed["diff"][0]["before"] and "priority 120" in check_changed["diff"][0]["after"]
    assert check_new["changed"] is True and not runner.fragment("vrrp_instance-VI_new.conf").exists()  # check mode wrote nothing
    text = frag.read_text()
    assert "priority 150" in text and "auth_pass s3cret" in text
    assert "nopreempt" in text and '    notify_master "/usr/bin/logger -t vrrp became master"' in text
    assert "        192.0.2.11/24 dev eth0 label eth0:web\n" in text and "        eth2 weight -20\n" in text
    assert stat.S_IMODE(frag.stat().st_mode) == 0o640
    assert runner.check_config().returncode == 0
    assert "TASK [step 3]" in runner.last_output and "-    priority 150" in runner.last_output  # --diff is shown


def test_rejected_change_fails_with_file_line_col_and_leaves_files(runner):
    r = runner.play(
        step(VI_1),
        step(dict(VI_1, priority=300)),
        step({"name": "VI_2", "interface": "eth0", "vrid": 51, "vips": ["192.0.2.20/24"]}),
        step({"name": "bad/name", "interface": "eth0", "vrid": 52}),
        step({"name": "VI_3", "interface": "eth0", "vrid": 53, "vips": ["192.0.2.30/24", {"dev": "eth0"}]}),
    )
    created, prio, dup, badname, badvip = r
    frag = runner.fragment("vrrp_instance-VI_1.conf")
    assert created["changed"] is True
    assert prio["failed"] and any(re.match(rf"{re.escape(str(frag))}:\d+:\d+: error: priority", e) for e in prio["errors"]), prio
    assert str(runner.tmp / "etc") in prio["msg"] and "pykeepalived-check" not in prio["msg"]  # temp paths mapped back
    vi2 = runner.fragment("vrrp_instance-VI_2.conf")
    assert dup["failed"] and any(e.startswith(f"{vi2}:") and "virtual_router_id 51" in e for e in dup["errors"]), dup
    assert badname["failed"] and "file name" in badname["msg"]
    assert badvip["failed"] and "vips" in badvip["msg"]
    # the rejected changes left the files as the first step wrote them
    assert sorted(snapshot(runner.config_dir)) == ["conf.d/vrrp_instance-VI_1.conf", "keepalived.conf"]
    assert frag.read_text() == created["diff"][0]["after"].replace("********", VI_1["auth_pass"])


def test_sync_group_membership_and_absent(runner):
    vi_a = {"name": "VI_a", "interface": "eth0", "vrid": 61, "vips": ["192.0.2.61/24"], "sync_group": "SG"}
    vi_b = {"name": "VI_b", "interface": "eth0", "vrid": 62, "vips": ["192.0.2.62/24"], "sync_group": "SG"}
    group = runner.fragment("vrrp_sync_group-SG.conf")
    r = runner.play(step(vi_a), step(vi_b), step(vi_b))
    assert [x["changed"] for x in r] == [True, True, False]
    assert group.exists() and sorted(p.name for p in runner.fragment("vrrp_sync_group-SG.d").iterdir()) == ["VI_a.conf", "VI_b.conf"]
    assert runner.check_config().returncode == 0
    r = runner.play(step(dict(vi_a, sync_group=None)), step(dict(vi_b, state="absent")),
                    step(dict(vi_b, state="absent")), step({"name": "VI_a", "state": "absent"}))
    assert [x["changed"] for x in r] == [True, True, False, True]
    assert not group.exists() and not runner.fragment("vrrp_sync_group-SG.d").exists()
    assert list((runner.config_dir / "conf.d").iterdir()) == []
