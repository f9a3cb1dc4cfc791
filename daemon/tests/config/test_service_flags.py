"""``ops`` and the scheduler flags (flag-1..3, sh-port, sh-fallback, mh-port, mh-fallback):
parsed as keepalived 2.2 writes them, kept through ``format``, the IPVS flag bits they ask
for, and refused where they cannot apply."""
from __future__ import annotations

from pykeepalived.config.loader import loads_config
from pykeepalived.config.render import render
from pykeepalived.lb.select import nftables_errors
from pykeepalived.lb.services import service_specs

CONF = """virtual_server {head} {{
    protocol {proto}
    lb_algo {sched}
{flags}
    real_server 198.51.100.10 {port} {{
    }}
}}
"""


def load(flags: str, proto: str = "UDP", sched: str = "sh", head: str = "192.0.2.80 53", port: str = "53"):
    config, diags = loads_config(CONF.format(head=head, proto=proto, sched=sched, flags=flags, port=port), "t.conf")
    return config, [str(e) for e in diags.errors]


def bits(config) -> int:
    [spec] = service_specs(config.virtual_servers[0], {})
    return spec.flags


def test_flags_map_to_ipvs_bits_and_round_trip() -> None:
    config, errors = load("    sh-port\n    sh-fallback\n    ops")
    assert not errors, errors
    vs = config.virtual_servers[0]
    assert (vs.sched_flags, vs.ops) == (("sh-port", "sh-fallback"), True)
    assert bits(config) == 0x10 | 0x8 | 0x4  # SCHED2 | SCHED1 | ONEPACKET
    again, diags = loads_config(render(config), "again.conf")
    assert not diags.errors and (again.virtual_servers[0].sched_flags, again.virtual_servers[0].ops) == \
        (vs.sched_flags, True)


def test_mh_and_generic_names_share_the_bits() -> None:
    config, errors = load("    mh-port\n    flag-1\n    flag-3", sched="mh")
    assert not errors, errors
    assert bits(config) == 0x10 | 0x8 | 0x20


def test_ops_needs_udp_or_a_fwmark() -> None:
    assert load("    ops", proto="TCP", head="192.0.2.80 80", port="80")[1] == [
        "t.conf:4:5: error: virtual_server 192.0.2.80:80: ops (one-packet scheduling) needs protocol UDP "
        "or a fwmark service, not TCP"]
    config, errors = load("    ops", proto="TCP", head="fwmark 7", port="80")
    assert not errors and bits(config) == 0x4


def test_nftables_plane_refuses_them_where_written() -> None:
    config, errors = load("    sh-port\n    ops")
    assert not errors, errors
    assert [e.split(": error: ")[0] for e in nftables_errors(config)] == ["t.conf:4:5", "t.conf:5:5"]


def test_persistence_engine_sip() -> None:
    config, errors = load("    persistence_engine sip\n    persistence_timeout 60", head="192.0.2.80 5060", port="5060")
    assert not errors, errors
    [spec] = service_specs(config.virtual_servers[0], {})
    assert (spec.pe_name, spec.persistent) == ("sip", True)
    assert "persistence_engine sip" in render(config)
    assert [e.split(": error: ")[0] for e in nftables_errors(config)] == ["t.conf:4:5"]


def test_persistence_engine_without_persistence_warns_and_unknown_is_refused() -> None:
    text = CONF.format(head="192.0.2.80 5060", proto="UDP", sched="rr", flags="    persistence_engine sip", port="5060")
    _, diags = loads_config(text, "t.conf")
    assert [str(w) for w in diags.warnings] == ["t.conf:4:5: warning: virtual_server 192.0.2.80:5060: "
                                                "persistence_engine sip does nothing without persistence_timeout"]
    assert load("    persistence_engine http")[1] == ["t.conf:4:24: error: persistence_engine: must be one of sip, "
                                                      "got 'http'"]
