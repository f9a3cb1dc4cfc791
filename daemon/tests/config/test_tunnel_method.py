"""``lvs_method TUN type ipip|gue|gre [port N] [nocsum|csum|remcsum]``: keepalived 2.2's rules,
FILE:LINE:COL errors, the format round trip, and what the IPVS plane is asked for."""
from __future__ import annotations

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.config.model_lvs import Tunnel
from pykeepalived.config.render import render
from pykeepalived.lb.desired import Overrides, compute

CONF = """virtual_server 192.0.2.80 80 {{
    protocol TCP
    lvs_method {vs}
    real_server 198.51.100.10 80 {{
    }}
    real_server 198.51.100.11 80 {{
        lvs_method {rs}
    }}
}}
"""


def load(vs: str, rs: str = "NAT"):
    config, diags = loads_config(CONF.format(vs=vs, rs=rs), "t.conf")
    return config, [str(e) for e in diags.errors]


@pytest.mark.parametrize("words,tunnel", [
    ("TUN", None),
    ("TUN type ipip", None),  # plain ipip, as bare TUN
    ("TUN type gue port 6080", Tunnel("gue", 6080)),
    ("TUN port 6080 csum type gue", Tunnel("gue", 6080, "csum")),  # any order, as keepalived reads them
    ("TUN type gue port 6080 remcsum", Tunnel("gue", 6080, "remcsum")),
    ("TUN type gre csum", Tunnel("gre", 0, "csum")),
    ("TUN type gre nocsum", Tunnel("gre")),
])
def test_accepted(words: str, tunnel: Tunnel | None) -> None:
    config, errors = load(words)
    assert not errors, errors
    vs = config.virtual_servers[0]
    assert (vs.lvs_method, vs.tunnel) == ("TUN", tunnel)
    again, diags = loads_config(render(config), "again.conf")  # pykeepalivedctl format reads back equal
    assert not diags.errors and again.virtual_servers[0].tunnel == tunnel


@pytest.mark.parametrize("words,error", [
    ("TUN type gue", "t.conf:3:20: error: lvs_method: a gue tunnel needs a port, and only gue takes one"),
    ("TUN type ipip port 80", "t.conf:3:20: error: lvs_method: a gue tunnel needs a port, and only gue takes one"),
    ("TUN type ipip csum", "t.conf:3:20: error: lvs_method: ipip tunnels take no checksum option"),
    ("TUN csum", "t.conf:3:20: error: lvs_method: ipip tunnels take no checksum option"),
    ("TUN type gre remcsum", "t.conf:3:20: error: lvs_method: gre tunnels do not support remcsum"),
    ("TUN type vxlan", "t.conf:3:25: error: lvs_method: unknown tunnel type 'vxlan' (one of ipip, gue, gre)"),
    ("TUN type gue port", "t.conf:3:29: error: lvs_method: tunnel port needs a value"),
    ("TUN type gue port 0", "t.conf:3:34: error: lvs_method: the gue port must be 1..65535"),
    ("TUN type gue type gre", "t.conf:3:29: error: lvs_method: tunnel option type given twice"),
    ("TUN fast", "t.conf:3:20: error: lvs_method: unknown tunnel option 'fast' (type, port, nocsum, csum, remcsum)"),
    ("DR csum", "t.conf:3:19: error: lvs_method: DR takes no options (tunnel options are for TUN)"),
])
def test_refused_where_written(words: str, error: str) -> None:
    assert any(e.startswith(error) for e in load(words)[1]), load(words)[1]


def test_real_server_inherits_the_virtual_servers_tunnel_unless_it_names_a_method() -> None:
    config, errors = load("TUN type gue port 6080", rs="TUN type gre")
    assert not errors, errors
    dests = {d.addr: (d.method, d.tunnel) for s in compute(config, {}, Overrides(), {}).table.values()
             for d in s.dests.values()}
    assert dests == {"198.51.100.10": ("TUN", Tunnel("gue", 6080)), "198.51.100.11": ("TUN", Tunnel("gre"))}


def test_a_nat_real_server_under_a_tun_service_has_no_tunnel() -> None:
    config, errors = load("TUN type gue port 6080", rs="NAT")
    assert not errors, errors
    dests = {d.addr: (d.method, d.tunnel) for s in compute(config, {}, Overrides(), {}).table.values()
             for d in s.dests.values()}
    assert dests["198.51.100.11"] == ("NAT", Tunnel())


SORRY = """virtual_server 192.0.2.80 80 {{
    protocol TCP
    lvs_method DR
    sorry_server 198.51.100.20 80
{sorry}
    real_server 198.51.100.10 80 {{
    }}
}}
"""


def test_sorry_server_lvs_method_with_tunnel_options() -> None:
    config, diags = loads_config(SORRY.format(sorry="    sorry_server_lvs_method TUN type gre csum"), "t.conf")
    assert not diags.errors, [str(e) for e in diags.errors]
    ss = config.virtual_servers[0].sorry_server
    assert (ss.lvs_method, ss.tunnel) == ("TUN", Tunnel("gre", 0, "csum"))
    again, diags = loads_config(render(config), "again.conf")
    back = again.virtual_servers[0].sorry_server
    assert not diags.errors and (back.ip, back.lvs_method, back.tunnel) == (ss.ip, ss.lvs_method, ss.tunnel)
    for rs in config.virtual_servers[0].real_servers:
        rs.weight = 0  # quorum lost: the sorry server is in the table, with its own method and tunnel
    [svc] = compute(config, {}, Overrides(), {}).table.values()
    sorry = svc.dests[("198.51.100.20", 80)]
    assert (sorry.method, sorry.tunnel) == ("TUN", Tunnel("gre", 0, "csum"))


def test_sorry_server_lvs_method_needs_a_sorry_server() -> None:
    _, diags = loads_config(SORRY.format(sorry="    sorry_server_lvs_method NAT").replace(
        "    sorry_server 198.51.100.20 80\n", ""), "t.conf")
    assert [str(e) for e in diags.errors] == ["t.conf:4:5: error: sorry_server_lvs_method without a sorry_server"]
