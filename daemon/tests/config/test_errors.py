"""Bad input gets one clear error, at the right line and column, and all of them are reported."""

from __future__ import annotations

import textwrap

import pytest

from pykeepalived.config.loader import loads_config


def errors(text: str) -> list[str]:
    _, diags = loads_config(textwrap.dedent(text), "t.conf")
    return [f"{d.location.line}:{d.location.col}: {d.message}" for d in diags.sorted() if d.severity == "error"]


def instance(body: str, extra: str = "") -> str:
    return extra + "vrrp_instance VI_1 {\n    interface eth0\n" + body + "}\n"


CASES = [
    # (config, expected "line:col: message" prefix)
    (instance("    virtual_router_id 0\n"), "3:5: virtual_router_id: value must be at least 1"),
    (instance("    virtual_router_id 256\n"), "3:5: virtual_router_id: value must be at most 255"),
    (instance("    virtual_router_id 5\n    priority 300\n"), "4:5: priority: value must be at most 255"),
    (instance("    virtual_router_id 5\n    priority high\n"), "4:14: priority: expected an integer, got 'high'"),
    (instance("    virtual_router_id 5\n    authentication {\n        auth_type PASS\n        auth_pass 123456789\n    }\n"),
     "6:9: auth_pass: length of value must be at most 8"),
    (instance("    virtual_router_id 5\n    authentication {\n        auth_type AH\n        auth_pass x\n    }\n"),
     "5:9: auth_type AH is not supported"),
    (instance("    virtual_router_id 5\n    advert_int 1.5\n"), "4:5: advert_int 1.5 is not whole seconds"),
    (instance("    virtual_router_id 5\n    version 3\n    advert_int 41\n"), "5:5: advert_int 41.0 exceeds VRRPv3"),
    (instance("    virtual_router_id 5\n    version 2\n    virtual_ipaddress {\n        2001:db8::1\n    }\n"),
     "4:5: VRRPv2 carries IPv4 only"),
    (instance("    virtual_router_id 5\n    virtual_ipaddress {\n        192.0.2.300/24\n    }\n"),
     "5:9: '192.0.2.300/24' is not an IP address"),
    (instance("    virtual_router_id 5\n    virtual_ipaddress {\n        192.0.2.1\n        2001:db8::1\n    }\n"),
     "4:5: virtual_ipaddress mixes IPv4 and IPv6"),
    (instance("    virtual_router_id 5\n    track_script {\n        chk_missing\n    }\n"),
     "5:9: track_script 'chk_missing' is not a defined vrrp_script"),
    (instance("    virtual_router_id 5\n    track_interface {\n        eth1 weight 300\n    }\n"),
     "5:21: weight 300 out of range -254..254"),
    (instance("    virtual_router_id 5\n    vmac_xmit_base\n"), "4:5: vmac_xmit_base is only valid with use_vmac"),
    (instance("    virtual_router_id 5\n    use_vmac vrrp.5 01:00:5e:00:00:05\n"),
     "4:21: use_vmac: 01:00:5e:00:00:05 is a multicast MAC address"),
    (instance("    virtual_router_id 5\n    use_vmac this_name_is_too_long\n"),
     "4:14: use_vmac: 'this_name_is_too_long' is not a valid interface name"),
    (instance("    virtual_router_id 5\n    use_vmac 00:00:5e:00:01:05\n"), "4:14: use_vmac: 00:00:5e:00:01:05 is an RFC 5798"),
    (instance("    virtual_router_id 5\n    use_vmac a b\n"), "4:16: use_vmac: the VMAC's name is given twice"),
    (instance("    virtual_router_id 5\n    use_vmac_addr\n"), "4:5: use_vmac_addr: per-address VMACs are not supported"),
    (instance("    virtual_router_id 5\n    prority 100\n"), "4:5: unknown keyword 'prority' in vrrp_instance; did you mean 'priority'?"),
    (instance("    virtual_router_id 5\n    priority 100\n    priority 101\n"), "5:5: 'priority' given twice"),
    (instance("    priority 100\n"), "1:1: vrrp_instance VI_1: missing required 'virtual_router_id'"),
    ("global_defs {\n    priority 100\n}\n", "2:5: 'priority' is not valid in global_defs (it belongs in vrrp_instance)"),
    ("vrrp_script chk {\n    script \"/bin/true\"\n    weight 254\n}\n", "3:12: weight: 254 out of range -253..253"),
    ("vrrp_script chk {\n    script \"pidof nginx || exit 1\"\n}\n", "2:12: script: 'pidof nginx || exit 1' uses shell syntax"),
    ("vrrp_sync_group G {\n    group {\n        VI_X\n    }\n}\n", "2:5: vrrp_sync_group G: 'VI_X' is not a defined vrrp_instance"),
    ("virtual_server 192.0.2.1 80 {\n    lb_algo fastest\n}\n", "2:13: lb_algo: must be one of rr|wrr"),
    ("virtual_server 192.0.2.1 80 {\n    real_server 192.0.2.10 80 {\n    }\n    real_server 192.0.2.10 80 {\n    }\n}\n",
     "4:5: real_server 192.0.2.10 80 defined twice"),
    ("virtual_server 192.0.2.1 80 {\n    real_server 2001:db8::5 80 {\n    }\n}\n",
     "2:5: real_server 2001:db8::5 is not the virtual server's address family"),
    ("virtual_server 192.0.2.1 80 {\n    real_server 192.0.2.10 80 {\n        HTTP_GET {\n            connect_timeout 3\n        }\n    }\n}\n",
     "3:9: HTTP_GET: needs at least one url"),
    ("virtual_server 192.0.2.1 80 {\n    real_server 192.0.2.10 80 {\n        HTTP_GET {\n            url {\n"
     "                path /\n                status_code 99\n            }\n        }\n    }\n}\n",
     "6:29: status_code: status_code must be NNN or NNN-NNN"),
    ("virtual_server group WEB {\n}\n", "1:1: virtual_server group 'WEB' is not a defined virtual_server_group"),
    ("virtual_server 192.0.2.1 80 {\n    real_server 192.0.2.10 80 {\n        TCP_CHECK {\n            connect_port 70000\n"
     "        }\n    }\n}\n", "4:26: connect_port: port 70000 out of range"),
    ("vrrp_instance A {\n    interface eth0\n    virtual_router_id 7\n}\nvrrp_instance B {\n    interface eth0\n"
     "    virtual_router_id 7\n}\n", "7:5: virtual_router_id 7 on eth0 (IPv4) is already used by vrrp_instance A"),
    ("vrrp_instance A {\n    interface eth0\n", "1:17: 'vrrp_instance' block is never closed"),
    ("}\n", "1:1: unexpected '}' with no block open"),
    ("vrrp_instance A {\n    interface \"eth0\n}\n", "2:15: unterminated quoted string"),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[1].split(":", 2)[2][:40] for c in CASES])
def test_error_location_and_message(text: str, expected: str) -> None:
    found = errors(text)
    assert any(e.startswith(expected) for e in found), found


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = instance("    virtual_router_id 300\n    priority 0\n    advert_int x\n    bogus_keyword 1\n")
    found = errors(text)
    assert [f.split(":")[0] for f in found] == ["3", "4", "5", "6"], found


def test_valid_instance_with_one_line_blocks() -> None:
    text = ('vrrp_script chk { script "/bin/true" interval 2 weight -20 rise 3 fall 2 }\n'
            'vrrp_instance VI_1 { state BACKUP interface eth0 virtual_router_id 51 priority 150 nopreempt '
            'advert_int 1 authentication { auth_type PASS auth_pass 1111 } virtual_ipaddress { 10.0.0.3 } '
            'track_script { chk weight -30 } }\n')
    config, diags = loads_config(text)
    assert not diags.errors, diags.items
    inst = config.vrrp_instances["VI_1"]
    assert (inst.state, inst.priority, inst.nopreempt, inst.auth_pass) == ("BACKUP", 150, True, "1111")
    assert inst.track_script[0].weight == -30
    script = config.vrrp_scripts["chk"]
    assert (script.interval, script.weight, script.rise, script.fall) == (2, -20, 3, 2)


def test_brace_on_the_next_line() -> None:
    config, diags = loads_config("vrrp_instance VI_1\n{\n    interface eth0\n    virtual_router_id 9\n"
                                 "    virtual_ipaddress\n    {\n        192.0.2.5/24\n    }\n}\n")
    assert not diags.errors, diags.items
    assert str(config.vrrp_instances["VI_1"].virtual_ipaddress[0].address) == "192.0.2.5/24"
