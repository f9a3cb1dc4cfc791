"""What a keepalived user configures is reachable through the modules (issue 14 section 5):
the options added for the role, written and accepted by the daemon's checker."""

from __future__ import annotations

VS_ID = {"address": "192.0.2.100", "port": 80}


def test_new_instance_server_and_checker_options_pass_the_daemon(runner):
    inst = {"name": "web", "interface": "eth0", "vrid": 51, "priority": 150, "vips": ["192.0.2.50/24"],
            "vips_excluded": [{"address": "2001:db8::50/64", "no_track": True}], "mcast_src_ip": "192.0.2.11",
            "dont_track_primary": True, "accept": True, "smtp_alert": True, "garp_master_repeat": 3,
            "garp_lower_prio_repeat": 2, "sync_group": "front",
            "sync_group_options": {"notify_master": "/usr/local/bin/to master", "smtp_alert": True}}
    vs = {"address": "192.0.2.100", "port": 80, "lb_kind": "NAT", "smtp_alert": False,
          "persistence_granularity": "255.255.255.0", "virtualhost": "www.example.com", "warmup": 2,
          "quorum_up": "/usr/bin/logger up"}
    rs = {"virtual_server": VS_ID, "address": "10.0.0.11", "port": 8080, "uthreshold": 100,
          "notify_up": "/usr/bin/logger rs up", "smtp_alert": True, "virtualhost": "rs.example.com", "retry": 2,
          "checkers": [{"type": "TCP_CHECK", "connect_port": 8080},
                       {"type": "HTTP_GET", "urls": [{"path": "/health", "status_code": ["200"]}], "http_protocol": "1.1"},
                       {"type": "MISC_CHECK", "misc_path": "/usr/local/bin/check web", "misc_dynamic": True}]}
    r = runner.play(dict(module="vrrp_instance", args=inst), dict(module="virtual_server", args=vs),
                    dict(module="real_server", args=rs))
    assert [x["changed"] for x in r] == [True, True, True], "\n".join(str(x.get("errors")) for x in r)
    text = runner.fragment("vrrp_instance-web.conf").read_text()
    for line in ("    mcast_src_ip 192.0.2.11\n", "    dont_track_primary\n", "    accept on\n",
                 "    smtp_alert on\n", "    virtual_ipaddress_excluded {\n        2001:db8::50/64 no_track\n    }\n"):
        assert line in text, text
    group = runner.fragment("vrrp_sync_group-front.conf").read_text()
    assert '    notify_master "/usr/local/bin/to master"\n    smtp_alert on\n' in group, group
    rs_text = runner.fragment("virtual_server-192.0.2.100_80.d/real_server-10.0.0.11_8080.conf").read_text()
    assert rs_text.count("_CHECK {") == 2 and "    HTTP_GET {\n" in rs_text and '        misc_path "/usr/local/bin/check web"\n' in rs_text
    assert "    virtualhost rs.example.com\n    smtp_alert on\n    retry 2\n" in rs_text, rs_text
    check = runner.check_config()
    assert check.returncode == 0, check.stderr


def test_checker_and_checkers_are_exclusive(runner):
    rs = {"virtual_server": VS_ID, "address": "10.0.0.11", "port": 8080, "checker": {"type": "TCP_CHECK"},
          "checkers": [{"type": "TCP_CHECK"}]}
    r = runner.play(dict(module="real_server", args=rs))
    assert r[0]["failed"] and "mutually exclusive" in r[0]["msg"] and "checkers" in r[0]["msg"], r
