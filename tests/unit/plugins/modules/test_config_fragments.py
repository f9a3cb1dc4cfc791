"""hapair.keepalived.config_fragments: the per-object modules' files from one call."""

from __future__ import annotations

from pathlib import Path

from module_runner import Runner

VI = {"name": "VI_web", "interface": "eth0", "vrid": 51, "priority": 150, "vips": ["192.0.2.100/24"],
      "unicast_src_ip": "192.0.2.11", "unicast_peers": ["192.0.2.12"], "sync_group": "SG_web"}
VS = {"address": "192.0.2.100", "port": 80, "lb_algo": "wrr", "lb_kind": "NAT", "delay_loop": 5}
VS_ID = {"address": "192.0.2.100", "port": 80}
RS = [{"virtual_server": VS_ID, "address": "10.0.0.11", "port": 8080, "weight": 10,
       "checker": {"type": "HTTP_GET", "urls": [{"path": "/health", "status_code": ["200"]}]}},
      {"virtual_server": VS_ID, "address": "10.0.0.12", "port": 8080, "checker": {"type": "TCP_CHECK"}}]
BATCH = {"vrrp_instances": [VI], "virtual_servers": [VS], "real_servers": RS}


def files(runner: Runner) -> dict:
    # (a sync group member file names its instance's fragment by its full path)
    return {str(p.relative_to(runner.config_dir)): p.read_text().replace(str(runner.config_dir), "CONFIG_DIR")
            for p in sorted(runner.config_dir.rglob("*.conf")) if p.is_file()}


def test_one_call_writes_what_the_modules_write(runner, tmp_path):
    r = runner.play({"module": "config_fragments", "args": BATCH, "check": True, "diff": True},
                    {"module": "config_fragments", "args": BATCH, "diff": True},
                    {"module": "config_fragments", "args": BATCH})
    assert [x["changed"] for x in r] == [True, True, False], r
    # instance, sync group + its member file, virtual server, 2 real servers
    assert len(r[0]["diff"]) == len(r[1]["diff"]) == 6
    assert [x["changed"] for x in r[1]["real_servers"]] == [True, True]
    assert r[1]["real_servers"][0]["weight"] == 10
    assert r[2]["fragments"] == sorted(r[2]["fragments"]) and len(r[2]["fragments"]) == 4
    batch_files = files(runner)
    # the same objects through the per-object modules, in a second config dir
    other = Runner(tmp_path / "single")
    steps = [{"module": "vrrp_instance", "args": VI}, {"module": "virtual_server", "args": VS}]
    steps += [{"module": "real_server", "args": item} for item in RS]
    assert all(x["changed"] for x in other.play(*steps))
    assert files(other) == batch_files
    assert runner.check_config().returncode == 0


def test_rejected_change_writes_nothing(runner):
    bad = dict(BATCH, vrrp_instances=[dict(VI, priority=300)])
    r = runner.play({"module": "config_fragments", "args": bad})
    assert r[0]["failed"] and any("priority" in line for line in r[0]["errors"]), r
    assert set(files(runner)) == {"keepalived.conf"}


def test_bad_item_is_named(runner):
    r = runner.play({"module": "config_fragments", "args": {"real_servers": [{"address": "10.0.0.1"}]}})
    assert r[0]["failed"] and r[0]["msg"].startswith("real_servers[0]: "), r


def test_main_config_is_written_and_validated_with_the_fragments(runner):
    main = "global_defs {\n    router_id lb1\n}\ninclude conf.d/*.conf\n"
    args = dict(BATCH, main_config=main)
    r = runner.play({"module": "config_fragments", "args": args, "diff": True},
                    {"module": "config_fragments", "args": args},
                    {"module": "config_fragments", "args": dict(args, main_config=main + "bogus_keyword\n")})
    assert [x["changed"] for x in r[:2]] == [True, False], r
    assert str(runner.config_dir / "keepalived.conf") in {d["after_header"] for d in r[0]["diff"]}
    assert (runner.config_dir / "keepalived.conf").read_text() == main
    assert r[2]["failed"] and (runner.config_dir / "keepalived.conf").read_text() == main, r[2]


def test_main_config_owns_the_directories(runner):
    main = "include conf.d/*.conf\n"
    conf_d = runner.config_dir / "conf.d"
    conf_d.mkdir(exist_ok=True)
    conf_d.chmod(0o755)
    r = runner.play({"module": "config_fragments", "args": {"main_config": main}, "check": True, "diff": True},
                    {"module": "config_fragments", "args": {"main_config": main}},
                    {"module": "config_fragments", "args": {"main_config": main}})
    assert [x["changed"] for x in r] == [True, True, False], r
    assert str(conf_d) in {d["after_header"] for d in r[0]["diff"]}
    assert conf_d.stat().st_mode & 0o7777 == 0o750
    assert runner.config_dir.stat().st_mode & 0o7777 == 0o750


def test_plain_files_are_written_but_not_validated_or_reloaded(runner, tmp_path):
    unit = tmp_path / "system" / "pykeepalived.service"
    unit.parent.mkdir()
    args = {"files": [{"path": str(unit), "content": "[Service]\nExecStart=/x\n", "mode": "0644"}]}
    r = runner.play({"module": "config_fragments", "args": args, "check": True, "diff": True},
                    {"module": "config_fragments", "args": args},
                    {"module": "config_fragments", "args": args})
    assert [x["changed"] for x in r] == [True, True, False], r
    assert [f["changed"] for f in r[0]["files"]] == [True] and r[2]["files"] == [{"path": str(unit), "changed": False}]
    assert r[0]["diff"][0]["before_header"] == f"{unit} (absent)"
    assert unit.read_text() == "[Service]\nExecStart=/x\n" and unit.stat().st_mode & 0o7777 == 0o644
    assert not any(x["reloaded"] for x in r)
    unit.chmod(0o600)  # a mode changed by hand is put back
    again = runner.play({"module": "config_fragments", "args": args})
    assert again[0]["changed"] and unit.stat().st_mode & 0o7777 == 0o644


def test_fragments_on_host_list_what_a_purge_compares(runner):
    r = runner.play({"module": "config_fragments", "args": BATCH})
    stray = Path(r[0]["real_servers"][0]["fragment"]).with_name("real_server-10.0.0.99-80.conf")
    stray.write_text("# left by an earlier inventory\n")
    r = runner.play({"module": "config_fragments", "args": BATCH})
    assert not r[0]["changed"], r
    assert set(r[0]["fragments_on_host"]) == set(r[0]["fragments"]) | {str(stray)}


def test_sysctls_markers_and_a_deferred_config_in_the_same_call(runner, tmp_path):
    """The load balancer's whole check in one call: sysctls first (applied even while the
    daemon is missing), which markers exist, and no config until ``requires`` exists."""
    proc = tmp_path / "proc"
    (proc / "net" / "ipv4").mkdir(parents=True)
    (proc / "net" / "ipv4" / "ip_forward").write_text("0\n")
    conf = tmp_path / "60-pykeepalived.conf"
    marker, pending = tmp_path / "venv" / ".hapair-build-x", tmp_path / "venv" / ".hapair-restart-pending"
    args = dict(BATCH, sysctl={"path": str(conf), "values": {"net.ipv4.ip_forward": 1}, "proc_root": str(proc)},
                look_for=[str(marker), str(pending)], requires=str(marker))
    before = files(runner)
    # check mode shows the whole change although the build is missing; nothing is written
    r = runner.play({"module": "config_fragments", "args": args, "check": True, "diff": True},
                    {"module": "config_fragments", "args": args, "diff": True})
    assert r[0]["changed"] and not r[0]["deferred"] and r[0]["found"] == [], r[0]
    assert r[0]["sysctl"]["kernel"] == {"net.ipv4.ip_forward": "1"} and len(r[0]["diff"]) == 7  # sysctl + 6 files
    # without the build: the sysctls are applied, the config waits
    assert r[1]["changed"] and r[1]["deferred"] and r[1]["fragments"] == [] and r[1]["vrrp_instances"] == []
    assert len(r[1]["diff"]) == 1 and r[1]["diff"][0]["after_header"] == str(conf)
    assert (proc / "net" / "ipv4" / "ip_forward").read_text() == "1\n" and conf.exists()
    assert files(runner) == before
    marker.parent.mkdir()
    marker.write_text("x\n")
    pending.write_text("y\n")
    r = runner.play({"module": "config_fragments", "args": args},
                    {"module": "config_fragments", "args": args})
    assert [x["changed"] for x in r] == [True, False] and not r[0]["deferred"], r
    assert r[0]["sysctl"]["changed"] is False and r[0]["found"] == [str(marker), str(pending)]
    assert len(r[1]["fragments"]) == 4 and len(files(runner)) == 7  # the main file + 6
    assert runner.check_config().returncode == 0


def test_a_bad_sysctl_option_is_named(runner, tmp_path):
    r = runner.play({"module": "config_fragments", "args": {"sysctl": {"path": str(tmp_path / "x"), "valeus": {}}}})
    assert r[0]["failed"] and r[0]["msg"].startswith("sysctl: ") and "valeus" in r[0]["msg"], r
