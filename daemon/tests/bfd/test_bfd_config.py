"""bfd_instance and track_bfd: keepalived 2.2.7's keywords, ranges and defaults, errors at file:line:col."""
from __future__ import annotations

import ipaddress

from pykeepalived.config.loader import loads_config
from pykeepalived.config.render import render

INSTANCE = """vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {{ 192.0.2.100 }}
    {track}
}}
"""


def load(text: str, track: str = "track_bfd {\n b1\n }"):
    return loads_config(text + INSTANCE.format(track=track), "k.conf")


def errors(diags) -> list[str]:
    return [str(d) for d in diags.items if d.severity == "error"]


def test_a_full_instance_with_keepalived_spellings() -> None:
    cfg, diags = load("""bfd_instance b1 {
    neighbour_ip 192.0.2.2
    source_ip 192.0.2.1
    min_rx 50
    min_tx 50.5
    idle_tx 2000
    multiplier 3
    passive
    hoplimit 254
    max_hops 1
    weight -20 reverse
    vrrp
}
""", "track_bfd {\n b1 weight -30\n }")
    assert not errors(diags)
    b = cfg.bfd_instances["b1"]
    assert (b.neighbor_ip, b.source_ip) == (ipaddress.ip_address("192.0.2.2"), ipaddress.ip_address("192.0.2.1"))
    assert (b.min_rx, b.min_tx, b.idle_tx, b.multiplier) == (50, 50.5, 2000, 3)
    assert (b.passive, b.ttl, b.max_hops, b.weight, b.weight_reverse) == (True, 254, 1, -20, True)
    (ref,) = cfg.vrrp_instances["VI_1"].track_bfd
    assert (ref.name, ref.weight) == ("b1", -30)


def test_keepalived_defaults() -> None:
    cfg, diags = load("bfd_instance b1 {\n neighbor_ip 2001:db8::2\n}\n")
    b = cfg.bfd_instances["b1"]
    assert (b.min_rx, b.min_tx, b.idle_tx, b.multiplier, b.max_hops, b.weight) == (10, 10, 1000, 5, 0, 0)
    assert b.effective_ttl == 64  # keepalived's IPv6 default hop limit


def test_render_round_trips() -> None:
    text = "bfd_instance b1 {\n neighbor_ip 192.0.2.2\n min_rx 50.25\n multiplier 3\n weight 10 reverse\n}\n"
    cfg, _ = load(text)
    again, diags = loads_config(render(cfg), "rendered.conf")
    assert not errors(diags)
    assert again.bfd_instances == cfg.bfd_instances
    assert again.vrrp_instances["VI_1"].track_bfd == cfg.vrrp_instances["VI_1"].track_bfd


def test_errors_carry_file_line_column() -> None:
    cases = {
        "bfd_instance b1 {\n neighbor_ip 192.0.2.2\n multiplier 0\n}\n": "k.conf:3:",
        "bfd_instance b1 {\n neighbor_ip 192.0.2.2\n idle_tx 999\n}\n": "k.conf:3:10: error: idle_tx: 999 ms out of range",
        "bfd_instance b1 {\n neighbor_ip 192.0.2.2\n min_rx 1.0001\n}\n": "k.conf:3:9: error: min_rx: '1.0001'",
        "bfd_instance b1 {\n neighbor_ip 192.0.2.2\n weight 254\n}\n": "k.conf:3:9: error: weight: 254 out of range",
        "bfd_instance b1 {\n neighbor_ip 192.0.2.2\n multihop maybe\n}\n": "k.conf:3:11: error: multihop",
        "bfd_instance b1 {\n neighbor_ip 192.0.2.2\n source_ip 2001:db8::1\n}\n": "k.conf:3:2: error: source_ip",
        "bfd_instance b1 {\n min_rx 50\n}\n": "k.conf:1:1: error: bfd_instance b1: missing required 'neighbor_ip'",
        "bfd_instance b1 {\n neighbor_ip 192.0.2.300\n}\n": "k.conf:2:",
    }
    for text, expected in cases.items():
        _, diags = load(text)
        assert any(e.startswith(expected) for e in errors(diags)), (text, errors(diags))


def test_an_undefined_or_duplicate_session_is_an_error() -> None:
    _, diags = load("", "track_bfd {\n nope\n }")
    assert any("track_bfd 'nope' is not a defined bfd_instance" in e for e in errors(diags))
    _, diags = load("bfd_instance b1 {\n neighbor_ip 192.0.2.2\n}\nbfd_instance b2 {\n neighbor_ip 192.0.2.2\n}\n",
                    "track_bfd {\n b1\n }")
    assert any(e.startswith("k.conf:4:1:") and "same neighbor_ip" in e for e in errors(diags))


def test_multihop_is_port_4784_and_its_own_session() -> None:
    """keepalived 2.3's ``multihop [BOOL]``: RFC 5883's port; a single-hop and a multihop session
    to the same neighbour are two sessions (a packet finds its session by the port it came to)."""
    cfg, diags = load("bfd_instance one {\n neighbor_ip 192.0.2.2\n}\n"
                      "bfd_instance many {\n neighbor_ip 192.0.2.2\n multihop\n max_hops 2\n}\n"
                      "bfd_instance off {\n neighbor_ip 192.0.2.3\n multihop no\n}\n", "track_bfd {\n one\n many\n }")
    assert not errors(diags)
    b = cfg.bfd_instances
    assert (b["one"].port, b["many"].port, b["off"].port) == (3784, 4784, 3784)
    assert b["many"].multihop and not b["off"].multihop and b["many"].max_hops == 2
    again, diags = loads_config(render(cfg), "rendered.conf")
    assert not errors(diags) and again.bfd_instances == cfg.bfd_instances
    _, diags = load("bfd_instance a {\n neighbor_ip 192.0.2.2\n multihop\n}\n"
                    "bfd_instance b {\n neighbor_ip 192.0.2.2\n multihop yes\n}\n", "track_bfd {\n a\n }")
    assert any(e.startswith("k.conf:5:1:") and "same neighbor_ip/source_ip (multihop)" in e for e in errors(diags))


def test_max_hops_above_ttl_becomes_the_ttl_with_a_warning() -> None:
    cfg, diags = load("bfd_instance b1 {\n neighbor_ip 192.0.2.2\n ttl 10\n max_hops 20\n}\n")
    assert cfg.bfd_instances["b1"].max_hops == 10
    assert any("max_hops 20 exceeds" in str(d) for d in diags.items)


def test_reload_plan_keeps_the_instance_for_a_timer_change_and_rewires_it_for_a_weight_change() -> None:
    from pykeepalived.vrrp.plan import plan_vrrp

    base = "bfd_instance b1 {\n neighbor_ip 192.0.2.2\n min_tx 50\n weight -10\n}\n"
    old, _ = load(base)
    timers, _ = load(base.replace("min_tx 50", "min_tx 100"))
    weight, _ = load(base.replace("weight -10", "weight -20"))
    assert plan_vrrp(old, timers).unchanged == ["VI_1"]
    assert plan_vrrp(old, weight).changed == ["VI_1"]
