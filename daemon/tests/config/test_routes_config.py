"""static_ipaddress, static_routes, static_rules, virtual_routes, virtual_rules: the lines
keepalived's samples and keepalived.conf(5) use, and FILE:LINE:COL errors for bad ones."""
from __future__ import annotations

import ipaddress

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.config.model_vrrp import Nexthop
from pykeepalived.config.render import render

INSTANCE = """vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {{
        192.0.2.16
    }}
{body}
}}
"""


def load(text: str):
    config, diags = loads_config(text, "t.conf")
    return config, [str(e) for e in diags.errors]


def routes(lines: str):
    config, errors = load(f"static_routes {{\n{lines}\n}}\n")
    assert not errors, errors
    return config.static_routes


def rules(lines: str):
    config, errors = load(f"static_rules {{\n{lines}\n}}\n")
    assert not errors, errors
    return config.static_rules


def errors_of(block: str, lines: str) -> list[str]:
    return load(f"{block} {{\n{lines}\n}}\n")[1]


def test_keepalived_sample_route_lines() -> None:
    r = routes("""    src 192.168.100.1 192.168.209.0/24 via 192.168.200.254 dev eth0
    192.168.212.0/24 dev eth3 scope site
    192.168.113.0/24 via 192.168.100.252 or 192.168.100.253
    blackhole 192.168.113.1/32
    0.0.0.0/0 gw 192.168.0.1 table 100  # a default gateway in table 100""")
    assert (r[0].dst, r[0].src, r[0].via, r[0].dev) == (ipaddress.ip_network("192.168.209.0/24"),
                                                       ipaddress.ip_address("192.168.100.1"),
                                                       ipaddress.ip_address("192.168.200.254"), "eth0")
    assert (r[1].dev, r[1].scope) == ("eth3", 200)
    assert r[2].via is None and r[2].nexthops == (Nexthop(ipaddress.ip_address("192.168.100.252")),
                                                  Nexthop(ipaddress.ip_address("192.168.100.253")))
    assert (r[3].type, r[3].dst.prefixlen) == ("blackhole", 32)
    assert (r[4].dst.prefixlen, r[4].table) == (0, 100)


def test_route_options_and_nexthop_groups() -> None:
    r = routes("""    to 10.0.0.0/8 nexthop via 192.0.2.1 dev eth0 weight 2 nexthop via 192.0.2.2 dev eth1 onlink
    default via 2001:db8::1 dev eth0 metric 1024 protocol static
    unreachable 10.9.0.0/16 table main preference 7
    10.8.0.0/16 dev eth0 mtu 1400 onlink no_track scope 253
    2001:db8:1::/48 from 2001:db8:2::/48 via fe80::1 dev eth0""")
    assert [(h.dev, h.weight, h.onlink) for h in r[0].nexthops] == [("eth0", 2, False), ("eth1", 1, True)]
    assert (str(r[1].dst), r[1].metric, r[1].protocol) == ("::/0", 1024, 4)
    assert (r[2].type, r[2].table, r[2].metric) == ("unreachable", 254, 7)
    assert (r[3].mtu, r[3].onlink, r[3].no_track, r[3].scope) == (1400, True, True, 253)
    assert str(r[4].from_prefix) == "2001:db8:2::/48"


def test_rule_lines() -> None:
    r = rules("""    from 192.168.100.0/24 table 1
    not to 10.0.0.0/8 iif eth0 oif eth1 fwmark 0x10/0xff tos 4 priority 100 lookup main
    from all to 2001:db8::/32 blackhole pref 5
    from 192.0.2.0/24 goto 200 order 10 suppress_prefixlength 0 protocol 99""")
    assert (str(r[0].from_prefix), r[0].table, r[0].action, r[0].family) == ("192.168.100.0/24", 1, "table", 4)
    assert (r[1].invert, r[1].iif, r[1].oif, r[1].fwmark, r[1].fwmask, r[1].tos, r[1].priority, r[1].table) == \
        (True, "eth0", "eth1", 16, 255, 4, 100, 254)
    assert (r[2].family, r[2].from_prefix, r[2].action, r[2].priority) == (6, None, "blackhole", 5)
    assert (r[3].action, r[3].goto, r[3].suppress_prefixlength, r[3].protocol) == ("goto", 200, 0, 99)


def test_virtual_routes_and_rules_and_excluded_in_an_instance() -> None:
    body = """    virtual_ipaddress_excluded {
        198.51.100.7/24 dev eth1
    }
    virtual_routes {
        198.51.100.0/24 via 192.0.2.254 dev eth0
    }
    virtual_rules {
        from 192.0.2.16 table 10
    }"""
    config, errors = load(INSTANCE.format(body=body))
    assert not errors, errors
    inst = config.vrrp_instances["VI_1"]
    assert str(inst.virtual_ipaddress_excluded[0].address) == "198.51.100.7/24"
    assert str(inst.virtual_routes[0].dst) == "198.51.100.0/24"
    assert str(inst.virtual_rules[0].from_prefix) == "192.0.2.16/32"


def test_static_blocks_may_repeat_and_static_ipaddress_parses() -> None:
    config, errors = load("static_ipaddress {\n 192.0.2.5/24 dev eth1 scope link\n}\n"
                          "static_ipaddress {\n 192.0.2.6\n}\n"
                          "static_routes {\n 10.0.0.0/8 dev eth0\n}\nstatic_routes {\n 10.1.0.0/16 dev eth0\n}\n")
    assert not errors, errors
    assert [str(v.address) for v in config.static_ipaddress] == ["192.0.2.5/24", "192.0.2.6/32"]
    assert config.static_ipaddress[0].scope == "link"
    assert len(config.static_routes) == 2


@pytest.mark.parametrize(("block", "line", "want"), [
    ("static_routes", "192.168.100./24 dev eth0", "t.conf:2:5: error: '192.168.100./24' is not an IP address"),
    ("static_routes", "10.0.0.0/8 via 2001:db8::1", "t.conf:2:20: error: '2001:db8::1' is IPv6 in an IPv4 line"),
    ("static_routes", "10.0.0.0/8 via 192.0.2.1 realms 4",
     "t.conf:2:30: error: route option 'realms' is not supported by pykeepalived"),
    ("static_routes", "10.0.0.0/8 dev eth0 bogus", "t.conf:2:25: error: unknown route option 'bogus'"),
    ("static_routes", "10.0.0.0/8 table fish dev eth0", "t.conf:2:22: error: table 'fish': give a number"),
    ("static_routes", "10.0.0.0/8 dev eth0 metric", "t.conf:2:25: error: 'metric' needs a value"),
    ("static_routes", "10.0.0.0/8", "t.conf:2:5: error: a route needs 'via', 'dev' or 'nexthop'"),
    ("static_routes", "blackhole 10.0.0.0/8 via 192.0.2.1", "t.conf:2:5: error: a blackhole route takes no gateway"),
    ("static_routes", "10.0.0.0/8 or 192.0.2.1", "t.conf:2:19: error: 'or' gives a second gateway"),
    ("static_routes", "10.0.0.0/8 nexthop weight 3", "t.conf:2:16: error: a nexthop needs 'via' or 'dev'"),
    ("static_routes", "10.0.0.0/8 nexthop via 192.0.2.1 weight 300",
     "t.conf:2:45: error: a weight 300 out of range 1-256"),
    ("static_routes", "via 192.0.2.1", "t.conf:2:5: error: a route needs a destination prefix"),
    ("static_rules", "from 192.0.2.0/24", "t.conf:2:5: error: a rule needs an action"),
    ("static_rules", "from 192.0.2.0/24 table 1 blackhole", "t.conf:2:31: error: a rule takes one action"),
    ("static_rules", "from 192.0.2.0/24 to 2001:db8::/32 table 1",
     "t.conf:2:26: error: '2001:db8::/32' is IPv6 in an IPv4 line"),
    ("static_rules", "from 192.0.2.0/24 uidrange 1-2 table 1",
     "t.conf:2:23: error: rule option 'uidrange' is not supported by pykeepalived"),
    ("static_rules", "from 192.0.2.0/24 fwmark x table 1", "t.conf:2:30: error: expected a fwmark, got 'x'"),
])
def test_bad_lines_say_where_and_what(block: str, line: str, want: str) -> None:
    errors = errors_of(block, f"    {line}")
    assert len(errors) == 1 and errors[0].startswith(want), errors


def test_every_bad_line_is_reported_and_good_ones_kept() -> None:
    config, errors = load("static_routes {\n  10.0.0.0/8 foo\n  10.1.0.0/16 dev eth0\n  10.2.0.0/8 bar\n}\n")
    assert [e.split(": error")[0] for e in errors] == ["t.conf:2:14", "t.conf:4:14"]
    assert [str(r.dst) for r in config.static_routes] == ["10.1.0.0/16"]


def test_render_round_trip() -> None:
    text = ("static_ipaddress {\n 192.0.2.5/24 dev eth1 scope link\n}\n"
            "static_routes {\n src 192.0.2.1 10.0.0.0/8 via 192.0.2.254 dev eth0 table 100 metric 5 scope site\n"
            " 10.1.0.0/16 via 192.0.2.252 or 192.0.2.253\n unreachable 10.2.0.0/16 protocol 4 mtu 1300\n"
            " 10.3.0.0/16 table 9 nexthop via 192.0.2.1 dev eth0 weight 4 onlink nexthop dev eth1\n}\n"
            "static_rules {\n not from 192.0.2.0/24 to 10.0.0.0/8 iif eth0 fwmark 7/255 priority 9 table 100\n"
            " from 2001:db8::/32 prohibit no_track\n from all goto 100 priority 50\n}\n"
            + INSTANCE.format(body="    virtual_routes {\n        blackhole 198.51.100.0/24\n    }\n"
                                   "    virtual_rules {\n        to 198.51.100.0/24 table 5\n    }"))
    config, errors = load(text)
    assert not errors, errors
    again, errors = load(render(config))
    assert not errors, errors
    assert again == config


def test_virtual_routes_tracking_interfaces_and_the_warning_without_one() -> None:
    from pykeepalived.vrrp.from_config import tracked_route_interfaces

    body = """    virtual_routes {
        10.0.0.0/8 via 192.0.2.1 dev eth1
        10.1.0.0/16 nexthop via 192.0.2.1 dev eth2 nexthop via 192.0.2.2 dev eth1
        10.2.0.0/16 dev eth3 no_track
        10.3.0.0/16 via 192.0.2.1
        10.4.0.0/16 via 192.0.2.1 no_track
    }"""
    config, diags = loads_config(INSTANCE.format(body=body), "t.conf")
    assert not diags.errors
    assert [str(w) for w in diags.warnings] == [
        "t.conf:11:9: warning: virtual route 10.3.0.0/16 names no interface: it is not tracked "
        "(keepalived's -t refuses this; add 'dev IF' or 'no_track')"]
    assert tracked_route_interfaces(config.vrrp_instances["VI_1"]) == ["eth1", "eth2"]
