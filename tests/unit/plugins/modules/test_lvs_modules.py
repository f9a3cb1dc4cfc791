"""hapair.keepalived.virtual_server and real_server in real ansible-playbook runs."""

from __future__ import annotations

from module_runner import snapshot

VS = {"address": "192.0.2.100", "port": 80, "protocol": "TCP", "lb_algo": "wrr", "lb_kind": "NAT", "delay_loop": 5,
      "persistence_timeout": 300, "sorry_server": "192.0.2.200", "sorry_server_port": 8080, "quorum": 1,
      "inhibit_on_failure": True, "quorum_up": "/usr/bin/logger quorum up"}
VS_ID = {"address": "192.0.2.100", "port": 80}
RS = {"virtual_server": VS_ID, "address": "10.0.0.11", "port": 8080, "weight": 10,
      "checker": {"type": "HTTP_GET", "connect_timeout": 3, "retry": 2,
                  "urls": [{"path": "/health", "status_code": ["200", "300-302"], "virtualhost": "www.example.com"},
                           {"path": "/ready", "digest": "0123456789abcdef0123456789abcdef"}]}}


def vs(args, **kw):
    return dict(module="virtual_server", args=args, **kw)


def rs(args, **kw):
    return dict(module="real_server", args=args, **kw)


def test_virtual_and_real_servers_drain_and_absent(runner):
    vs_frag = runner.fragment("virtual_server-192.0.2.100_80.conf")
    rs_frag = runner.fragment("virtual_server-192.0.2.100_80.d/real_server-10.0.0.11_8080.conf")
    dns = {"virtual_server": VS_ID, "address": "10.0.0.12", "port": 8080,
           "checker": {"type": "TCP_CHECK", "connect_port": 8081, "alpha": False}}
    r = runner.play(vs(VS), vs(VS), rs(RS, diff=True), rs(RS), rs(dns),
                    rs(dict(RS, state="drained"), diff=True), rs(dict(RS, state="drained")),
                    rs(dict(RS, state="drained"), check=True))
    assert [x["changed"] for x in r] == [True, False, True, False, True, True, False, False], r
    assert r[0]["fragment"] == str(vs_frag) and r[2]["fragment"] == str(rs_frag)
    assert r[2]["weight"] == 10 and r[5]["weight"] == 0 and r[6]["weight"] == 0
    drain_diff = r[5]["diff"][0]
    assert "    weight 10\n" in drain_diff["before"] and "    weight 0\n" in drain_diff["after"]
    vs_text = vs_frag.read_text()
    assert "    sorry_server 192.0.2.200 8080\n" in vs_text and "    inhibit_on_failure on\n" in vs_text
    assert "    include virtual_server-192.0.2.100_80.d/*.conf\n}\n" in vs_text
    rs_text = rs_frag.read_text()
    assert "real_server 10.0.0.11 8080 {\n    weight 0\n    HTTP_GET {\n        url {\n            path /health\n" in rs_text
    assert "            status_code 200 300-302\n            virtualhost www.example.com\n" in rs_text
    check = runner.check_config()
    assert check.returncode == 0, check.stderr
    # undrain, then remove the service: its real server fragments go with it
    r = runner.play(rs(RS), vs(dict(VS, state="absent"), diff=True), vs(dict(VS, state="absent")))
    assert [x["changed"] for x in r] == [True, True, False]
    assert r[0]["weight"] == 10
    assert {d["before_header"] for d in r[1]["diff"]} == {str(vs_frag), str(rs_frag), str(rs_frag.with_name("real_server-10.0.0.12_8080.conf"))}
    assert list((runner.config_dir / "conf.d").iterdir()) == []


def test_real_server_rejections_leave_files(runner):
    r = runner.play(
        vs(VS), rs(RS),
        rs(dict(RS, weight=70000)),                                              # daemon: out of range
        rs(dict(RS, checker={"type": "TCP_CHECK", "urls": [{"path": "/x"}]})),   # daemon: url is not a TCP_CHECK keyword
        rs(dict(RS, virtual_server={"address": "192.0.2.100", "port": 81})),     # no such virtual server fragment
        vs(dict(VS, persistence_granularity="255.0.0.256")),                     # daemon: not an address
        vs(dict(VS, lb_algo="fastest")),                                         # module: not in choices
        rs(dict(RS, virtual_server={"address": "192.0.2.100", "port": 81}), check=True),
    )
    vs_made, rs_made, weight, url, missing_vs, granularity, algo, check_missing = r
    rs_frag = runner.fragment("virtual_server-192.0.2.100_80.d/real_server-10.0.0.11_8080.conf")
    assert weight["failed"] and any(e.startswith(f"{rs_frag}:") and ": error: " in e for e in weight["errors"]), weight
    assert url["failed"] and any(e.startswith(f"{rs_frag}:") for e in url["errors"]), url
    assert missing_vs["failed"] and "virtual_server-192.0.2.100_81.conf does not exist" in missing_vs["msg"]
    assert granularity["failed"] and any("virtual_server-192.0.2.100_80.conf:" in e for e in granularity["errors"]), granularity
    assert algo["failed"] and "lb_algo must be one of: rr, wrr," in algo["msg"] and "got: fastest" in algo["msg"], algo
    assert not check_missing.get("failed") and check_missing["changed"] is True
    assert any("does not exist" in w for w in check_missing["warnings"])
    # the rejected changes left the files as the first two steps wrote them
    files = snapshot(runner.config_dir)
    assert sorted(files) == ["conf.d/virtual_server-192.0.2.100_80.conf",
                             "conf.d/virtual_server-192.0.2.100_80.d/real_server-10.0.0.11_8080.conf", "keepalived.conf"]
    assert files["conf.d/virtual_server-192.0.2.100_80.conf"] == vs_made["diff"][0]["after"]
    assert files["conf.d/virtual_server-192.0.2.100_80.d/real_server-10.0.0.11_8080.conf"] == rs_made["diff"][0]["after"]


def test_fwmark_group_and_udp_services(runner):
    (runner.config_dir / "keepalived.conf").write_text(
        "virtual_server_group VG {\n    192.0.2.50 443\n}\ninclude conf.d/*.conf\n")
    udp = {"address": "2001:DB8::53", "port": 53, "protocol": "UDP", "lb_algo": "rr"}
    r = runner.play(vs({"fwmark": 7, "lb_algo": "sh", "lb_kind": "DR"}), vs({"group": "VG", "lb_algo": "rr"}),
                    vs(udp), vs(dict(udp, protocol="TCP")),
                    rs({"virtual_server": {"address": "2001:db8::53", "port": 53, "protocol": "UDP"},
                        "address": "2001:db8::1053", "port": 53,
                        "checker": {"type": "DNS_CHECK", "dns_type": "SOA", "dns_name": "example.org"}}))
    assert all(x["changed"] for x in r) and not any(x.get("failed") for x in r), r
    names = sorted(p.name for p in (runner.config_dir / "conf.d").iterdir())
    assert names == ["virtual_server-2001:db8::53_53-udp.conf", "virtual_server-2001:db8::53_53-udp.d",
                     "virtual_server-2001:db8::53_53.conf", "virtual_server-fwmark-7.conf", "virtual_server-group-VG.conf"]
    assert runner.check_config().returncode == 0


def test_udp_and_file_checks(runner):
    """UDP_CHECK (hex payload and reply pattern) and FILE_CHECK written by the module, accepted by the daemon."""
    (runner.config_dir / "keepalived.conf").write_text(
        'track_file ready {\n    file "/run/ready"\n}\ninclude conf.d/*.conf\n')
    udp = {"address": "192.0.2.53", "port": 53, "protocol": "UDP", "lb_algo": "rr"}
    r = runner.play(vs(udp),
                    rs({"virtual_server": {"address": "192.0.2.53", "port": 53, "protocol": "UDP"},
                        "address": "10.0.0.53", "port": 53,
                        "checkers": [{"type": "UDP_CHECK", "payload": "0a0b 0c", "require_reply": "0ax0",
                                      "min_reply_length": 2, "max_reply_length": 512},
                                     {"type": "FILE_CHECK", "track_file": "ready", "file_weight": -10,
                                      "file_reverse": True}]}))
    assert all(x["changed"] for x in r) and not any(x.get("failed") for x in r), r
    text = (runner.config_dir / "conf.d" / "virtual_server-192.0.2.53_53-udp.d").glob("*.conf")
    rendered = "".join(p.read_text() for p in text)
    assert "payload 0a0b 0c" in rendered and "require_reply 0ax0" in rendered
    assert "track_file ready" in rendered and "weight -10 reverse" in rendered
    assert runner.check_config().returncode == 0


def test_protocol_is_always_written_but_for_fwmark(runner):
    """Unsaid, keepalived 2.2.7 and the daemon take an address service as UDP (with a warning):
    the module writes the TCP it documents."""
    r = runner.play(vs({"address": "192.0.2.101", "port": 80, "lb_algo": "rr"}),
                    vs({"fwmark": 7, "lb_algo": "rr"}))
    assert [x["changed"] for x in r] == [True, True], r
    assert "virtual_server 192.0.2.101 80 {\n    protocol TCP\n" in runner.fragment("virtual_server-192.0.2.101_80.conf").read_text()
    assert "protocol" not in runner.fragment("virtual_server-fwmark-7.conf").read_text()
    check = runner.check_config()
    assert check.returncode == 0 and "no protocol set" not in check.stdout + check.stderr, check.stderr
