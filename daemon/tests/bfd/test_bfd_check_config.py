"""BFD_CHECK in a real_server (keepalived 2.2.7's check_bfd.c: ``name`` and ``alpha``), the
bfd_instance's ``vrrp``/``checker`` keywords, errors at file:line:col, and the render."""
from __future__ import annotations

from pykeepalived.config.loader import loads_config
from pykeepalived.config.model_bfd import BfdCheck
from pykeepalived.config.render import render

SESSION = "bfd_instance b1 {{\n    neighbor_ip 192.0.2.2\n{extra}}}\n"
VS = """virtual_server 192.0.2.10 80 {{ protocol TCP
    real_server 192.0.2.20 80 {{
        BFD_CHECK {{
{body}        }}
    }}
}}
"""


def load(body: str = "            name b1\n", extra: str = ""):
    return loads_config(SESSION.format(extra=extra) + VS.format(body=body), "k.conf")


def errors(diags) -> list[str]:
    return [str(d) for d in diags.items if d.severity == "error"]


def test_name_and_alpha() -> None:
    cfg, diags = load("            name b1\n            alpha\n")
    assert not errors(diags)
    (chk,) = cfg.virtual_servers[0].real_servers[0].checkers
    assert isinstance(chk, BfdCheck) and (chk.name, chk.alpha) == ("b1", True)
    cfg, _ = load()
    assert cfg.virtual_servers[0].real_servers[0].checkers[0].alpha is None  # inherited, as for every checker


def test_a_missing_or_unknown_name_is_an_error_at_its_place() -> None:
    _, diags = load("")
    assert "k.conf:6:9: error: BFD_CHECK: missing required 'name'" in errors(diags)
    _, diags = load("            name nope\n")
    assert "k.conf:7:13: error: BFD_CHECK name 'nope' is not a defined bfd_instance" in errors(diags)


def test_keepalived_has_no_weight_nor_timers_in_bfd_check() -> None:
    _, diags = load("            name b1\n            weight 10\n")
    assert any(e.startswith("k.conf:8:13:") and "weight" in e for e in errors(diags)), errors(diags)
    _, diags = load("            name b1\n            delay_loop 3\n")
    assert any(e.startswith("k.conf:8:13:") for e in errors(diags)), errors(diags)


def test_vrrp_only_and_checker_only_sessions() -> None:
    _, diags = load(extra="    vrrp\n")
    assert "k.conf:8:13: error: BFD_CHECK name 'b1': that bfd_instance says 'vrrp' only, so the checkers " \
           "do not hear it (add 'checker')" in errors(diags)
    cfg, diags = load(extra="    checker\n")
    assert not errors(diags)
    b1 = cfg.bfd_instances["b1"]
    assert (b1.for_vrrp, b1.for_checker) == (False, True)
    track = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress { 192.0.2.9 }\n" \
            " track_bfd {\n  b1\n }\n}\n"
    _, diags = loads_config(SESSION.format(extra="    checker\n") + track, "k.conf")
    assert any(e.startswith("k.conf:10:3:") and "says 'checker' only" in e for e in errors(diags)), errors(diags)


def test_one_real_server_checks_a_session_once() -> None:
    _, diags = load("            name b1\n        }\n        BFD_CHECK {\n            name b1\n")
    assert "k.conf:10:13: error: BFD_CHECK name 'b1': this real server checks it already" in errors(diags)


def test_render_reads_back_the_same() -> None:
    cfg, _ = load("            name b1\n            alpha\n", extra="    checker\n")
    text = render(cfg)
    assert "BFD_CHECK {" in text and "name b1" in text and "\n    checker\n" in text
    again, diags = loads_config(text, "r.conf")
    assert not errors(diags)
    assert again.virtual_servers[0].real_servers[0].checkers == cfg.virtual_servers[0].real_servers[0].checkers
    assert (again.bfd_instances["b1"].for_vrrp, again.bfd_instances["b1"].for_checker) == (False, True)


def test_the_bfd_child_scheduling_keywords() -> None:
    from pykeepalived.services.sched import for_role

    cfg, diags = loads_config("global_defs {\n bfd_rt_priority 40\n bfd_priority -5\n bfd_no_swap\n"
                              " bfd_rlimit_rttime 500000\n bfd_cpu_affinity 1 0\n}\n", "k.conf")
    assert not errors(diags)
    s = for_role(cfg.global_defs, "bfd")
    assert (s.rt_priority, s.nice, s.no_swap, s.rlimit_rttime, s.cpus) == (40, -5, True, 500000, (0, 1))
    assert "bfd_cpu_affinity 0 1" in render(cfg)
    cfg, diags = loads_config("global_defs {\n bfd_process_name ka-bfd\n}\n", "k.conf")
    assert not errors(diags) and cfg.global_defs.bfd_process_name == "ka-bfd"
