"""vrrp_track_process blocks and vrrp_instance track_process: the model, the errors, the render."""

from __future__ import annotations

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.config.render import render

INSTANCE = """vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress {
        192.0.2.9
    }
    track_process {
        %s
    }
}
"""


def load(block: str, refs: str = "web"):
    return loads_config(block + INSTANCE % refs, "t.conf")


def test_quorum_max_zero_alone_means_none_may_run():
    cfg, diags = load("vrrp_track_process web {\n    process nginx\n    quorum_max 0\n}\n")
    assert not diags.errors
    assert (cfg.track_processes["web"].quorum, cfg.track_processes["web"].quorum_max) == (0, 0)


def test_bare_param_match_is_exact():
    cfg, diags = load("vrrp_track_process web {\n    process nginx\n    param_match\n}\n")
    assert not diags.errors and cfg.track_processes["web"].param_match == "exact"
    assert "    param_match\n" in render(cfg)
    assert loads_config(render(cfg), "r.conf")[0] == cfg


def test_blocks_and_refs():
    cfg, diags = load("""vrrp_track_process web {
    process "/usr/sbin/a b" -f "x y"
    param_match initial
    weight -20 reverse
    quorum 2
    quorum_max 4
    delay 1.5
    terminate_delay 3
    full_command
}
""", "web weight 10")
    assert not diags.errors, [str(d) for d in diags.errors]
    tp = cfg.track_processes["web"]
    assert tp.process == ("/usr/sbin/a b", "-f", "x y") and tp.param_match == "initial"
    assert (tp.weight, tp.weight_reverse, tp.quorum, tp.quorum_max) == (-20, True, 2, 4)
    assert (tp.fork_delay, tp.terminate_delay, tp.full_command) == (1.5, 3.0, True)  # the specific one wins
    (ref,) = cfg.vrrp_instances["VI_1"].track_process
    assert (ref.name, ref.weight) == ("web", 10)
    again, diags2 = loads_config(render(cfg), "rendered.conf")
    assert not diags2.errors and again == cfg


@pytest.mark.parametrize("block, refs, message", [
    ("vrrp_track_process web {\n    process nginx\n}\n", "nope",
     "t.conf:11:9: error: track_process 'nope' is not a defined vrrp_track_process"),
    ("vrrp_track_process web {\n    quorum 1\n}\n", "web", "t.conf:1:1: error: vrrp_track_process web: missing required 'process'"),
    ("vrrp_track_process web {\n    process x\n    weight 255\n}\n", "web", "t.conf:3:12: error: weight: 255 out of range -254..254"),
    ("vrrp_track_process web {\n    process x\n    param_match whole\n}\n", "web", "t.conf:3:17: error: param_match: must be one of initial|partial"),
    ("vrrp_track_process web {\n    process x\n    quorum 3\n    quorum_max 2\n}\n", "web",
     "t.conf:4:5: error: quorum_max 2 is below quorum 3"),
    ("vrrp_track_process web {\n    process x\n}\n", "web weight 300",
     "t.conf:11:20: error: weight 300 out of range -254..254"),
])
def test_errors_say_where_and_what(block, refs, message):
    _, diags = load(block, refs)
    found = [str(d) for d in diags.errors]
    assert any(line.startswith(message) for line in found), found
