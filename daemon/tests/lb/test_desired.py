"""Desired-state rules, table-driven: config + health + overrides -> weights in the table."""

from __future__ import annotations

import pytest

from pykeepalived.lb.desired import Health, Overrides, compute
from pykeepalived.lb.table import ServiceKey

from .helpers import conf, weights

VS = "TCP 192.0.2.1:80"
THREE = """virtual_server 192.0.2.1 80 {{ protocol TCP lb_algo wrr {extra}
  real_server 10.1.0.1 80 {{ weight 3 }}
  real_server 10.1.0.2 80 {{ weight 2 }}
  real_server 10.1.0.3 80 {{ weight 1 {rs3} }}
}}"""


def three(extra: str = "", rs3: str = "") -> str:
    return THREE.format(extra=extra, rs3=rs3)


def down(*ips: str, weight: int | None = None) -> dict:
    return {(VS, (ip, 80)): Health(False, weight) for ip in ips}


CASES = [
    # name, config, health, overrides, expected {dest: weight} for VS
    ("all up", three(), {}, Overrides(),
     {"10.1.0.1:80": 3, "10.1.0.2:80": 2, "10.1.0.3:80": 1}),
    ("down leaves", three(), down("10.1.0.2"), Overrides(),
     {"10.1.0.1:80": 3, "10.1.0.3:80": 1}),
    ("inhibit on vs: weight 0", three("inhibit_on_failure"), down("10.1.0.2"), Overrides(),
     {"10.1.0.1:80": 3, "10.1.0.2:80": 0, "10.1.0.3:80": 1}),
    ("inhibit on rs only", three(rs3="inhibit_on_failure"), down("10.1.0.2", "10.1.0.3"), Overrides(),
     {"10.1.0.1:80": 3, "10.1.0.3:80": 0}),
    ("dynamic weight", three(), {(VS, ("10.1.0.1", 80)): Health(True, 7)}, Overrides(),
     {"10.1.0.1:80": 7, "10.1.0.2:80": 2, "10.1.0.3:80": 1}),
    ("drain everywhere", three(), {}, Overrides(drained={(None, "10.1.0.1", None)}),
     {"10.1.0.1:80": 0, "10.1.0.2:80": 2, "10.1.0.3:80": 1}),
    ("drain in another vs", three(), {}, Overrides(drained={("TCP other", "10.1.0.1", None)}),
     {"10.1.0.1:80": 3, "10.1.0.2:80": 2, "10.1.0.3:80": 1}),
    ("operator weight beats checker", three(), {(VS, ("10.1.0.1", 80)): Health(True, 7)},
     Overrides(weights={(None, "10.1.0.1", 80): 5}),
     {"10.1.0.1:80": 5, "10.1.0.2:80": 2, "10.1.0.3:80": 1}),
    ("drain beats operator weight", three(), {},
     Overrides(drained={(VS, "10.1.0.2", 80)}, weights={(None, "10.1.0.2", 80): 5}),
     {"10.1.0.1:80": 3, "10.1.0.2:80": 0, "10.1.0.3:80": 1}),
    ("sorry absent while alive", three("sorry_server 10.9.9.9 8080"), down("10.1.0.1", "10.1.0.2"),
     Overrides(), {"10.1.0.3:80": 1}),
    ("sorry takes over", three("sorry_server 10.9.9.9 8080"), down("10.1.0.1", "10.1.0.2", "10.1.0.3"),
     Overrides(), {"10.9.9.9:8080": 1}),
    ("sorry + inhibit keeps rs at 0", three("sorry_server 10.9.9.9 inhibit_on_failure"),
     down("10.1.0.1", "10.1.0.2", "10.1.0.3"), Overrides(),
     {"10.1.0.1:80": 0, "10.1.0.2:80": 0, "10.1.0.3:80": 0, "10.9.9.9:80": 1}),
    ("sorry_server_inhibit: sorry at 0", three("sorry_server 10.9.9.9 8080 sorry_server_inhibit"), {},
     Overrides(), {"10.1.0.1:80": 3, "10.1.0.2:80": 2, "10.1.0.3:80": 1, "10.9.9.9:8080": 0}),
    ("all drained = no live weight: sorry", three("sorry_server 10.9.9.9 8080"), {},
     Overrides(drained={(None, "10.1.0.1", None), (None, "10.1.0.2", None), (None, "10.1.0.3", None)}),
     {"10.9.9.9:8080": 1}),
    ("quorum lost with sorry: live rs leave", three("quorum 4 sorry_server 10.9.9.9 8080"),
     down("10.1.0.1"), Overrides(), {"10.9.9.9:8080": 1}),
    ("quorum lost without sorry: rs stay", three("quorum 4"), down("10.1.0.1"), Overrides(),
     {"10.1.0.2:80": 2, "10.1.0.3:80": 1}),
]


@pytest.mark.parametrize("name,text,health,overrides,expected", CASES, ids=[c[0] for c in CASES])
def test_rules(name, text, health, overrides, expected) -> None:
    out = compute(conf(text), health, overrides, {})
    assert weights(out.table) == {VS: expected}


QUORUM_STEPS = [
    # (real servers down, expected quorum, event fired)  quorum 3, hysteresis 1, four of weight 1
    ((), True, None),
    (("10.1.0.1",), True, None),                      # 3
    (("10.1.0.1", "10.1.0.2"), True, None),            # 2: not < 3-1
    (("10.1.0.1", "10.1.0.2", "10.1.0.3"), False, False),  # 1 < 2: lost
    (("10.1.0.1", "10.1.0.2"), False, None),            # 2: not >= 3+1
    (("10.1.0.1",), False, None),                       # 3: not >= 4
    ((), True, True),                                   # 4: gained
]


def test_quorum_hysteresis_sequence() -> None:
    config = conf("""virtual_server 192.0.2.1 80 { protocol TCP quorum 3 hysteresis 1
      real_server 10.1.0.1 80 { }
      real_server 10.1.0.2 80 { }
      real_server 10.1.0.3 80 { }
      real_server 10.1.0.4 80 { } }""")
    state: dict = {}
    for downs, up, event in QUORUM_STEPS:
        out = compute(config, down(*downs), Overrides(), state)
        state = out.quorum
        assert state[VS] is up, downs
        assert [e.up for e in out.events] == ([] if event is None else [event]), downs
        if out.events:
            assert (out.events[0].quorum, out.events[0].hysteresis) == (3, 1)


def test_first_evaluation_fires_nothing() -> None:
    out = compute(conf(three("quorum 100")), {}, Overrides(), {})
    assert out.quorum == {VS: False} and out.events == []


def test_thresholds_persistence_methods_and_default_port() -> None:
    config = conf("""virtual_server 192.0.2.1 80 { protocol TCP lb_algo sh lb_kind DR persistence_timeout 600
        persistence_granularity 255.255.255.0
      real_server 10.1.0.1 { uthreshold 100 lthreshold 10 }
      real_server 10.1.0.2 8080 { lb_kind NAT } }""")
    svc = compute(config, {}, Overrides(), {}).table[ServiceKey.ip("TCP", "192.0.2.1", 80)]
    assert (svc.spec.sched, svc.spec.persistent, svc.spec.timeout, svc.spec.netmask) == ("sh", True, 600, 24)
    a, b = svc.dests[("10.1.0.1", 80)], svc.dests[("10.1.0.2", 8080)]
    assert (a.method, a.u_thresh, a.l_thresh) == ("DR", 100, 10)
    assert (b.method, b.u_thresh, b.l_thresh) == ("NAT", 0, 0)


def test_group_expands_ranges_and_fwmarks() -> None:
    config = conf("""virtual_server_group web { 10.0.0.1-3 80
        10.0.1.1 443
        fwmark 5 }
      virtual_server group web { protocol TCP real_server 10.1.0.1 8080 { weight 2 } }""")
    out = compute(config, {}, Overrides(), {})
    assert weights(out.table) == {
        "TCP 10.0.0.1:80": {"10.1.0.1:8080": 2}, "TCP 10.0.0.2:80": {"10.1.0.1:8080": 2},
        "TCP 10.0.0.3:80": {"10.1.0.1:8080": 2}, "TCP 10.0.1.1:443": {"10.1.0.1:8080": 2},
        "FWM 5": {"10.1.0.1:8080": 2}}
    assert len(out.services["TCP group web"]) == 5


def test_group_down_applies_to_every_service() -> None:
    config = conf("""virtual_server_group web { 10.0.0.1-2 80 }
      virtual_server group web { protocol TCP real_server 10.1.0.1 80 { } real_server 10.1.0.2 80 { } }""")
    out = compute(config, {("TCP group web", ("10.1.0.1", 80)): Health(False)}, Overrides(), {})
    assert weights(out.table) == {"TCP 10.0.0.1:80": {"10.1.0.2:80": 1}, "TCP 10.0.0.2:80": {"10.1.0.2:80": 1}}


def test_fwmark_family_follows_real_servers() -> None:
    out = compute(conf("virtual_server fwmark 7 { lb_kind DR real_server 2001:db8::1 80 { } }"),
                  {}, Overrides(), {})
    assert list(out.table) == [ServiceKey.mark(6, 7)]


def test_alpha_starts_checked_servers_down() -> None:
    config = conf("""virtual_server 192.0.2.1 80 { protocol TCP alpha
      real_server 10.1.0.1 80 { TCP_CHECK { } }
      real_server 10.1.0.2 80 { } }""")
    out = compute(config, {}, Overrides(), {})
    assert weights(out.table) == {VS: {"10.1.0.2:80": 1}}
    assert [(v.rs, v.up, v.in_table) for v in out.servers] == [
        (("10.1.0.1", 80), False, False), (("10.1.0.2", 80), True, True)]


def test_udp_and_tcp_on_one_address_are_two_virtual_servers() -> None:
    config = conf("""virtual_server 192.0.2.1 53 { protocol UDP real_server 10.1.0.1 53 { } }
      virtual_server 192.0.2.1 53 { protocol TCP real_server 10.1.0.1 53 { } }""")
    out = compute(config, {("UDP 192.0.2.1:53", ("10.1.0.1", 53)): Health(False)}, Overrides(), {})
    assert weights(out.table) == {"UDP 192.0.2.1:53": {}, "TCP 192.0.2.1:53": {"10.1.0.1:53": 1}}
