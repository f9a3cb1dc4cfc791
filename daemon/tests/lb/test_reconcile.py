"""Reconcile minimality, table-driven: (desired, actual, owned) -> exactly these operations."""

from __future__ import annotations

import pytest

from pykeepalived.lb.reconcile import apply_ops, reconcile, same_dest
from pykeepalived.lb.table import Dest, ServiceKey, ServiceSpec, make_table, service

K1 = ServiceKey.ip("TCP", "192.0.2.1", 80)
K2 = ServiceKey.ip("UDP", "192.0.2.1", 53)
FW = ServiceKey.mark(4, 7)
S1 = ServiceSpec(K1, "rr")
S2 = ServiceSpec(K2, "rr")
A = Dest("10.1.0.1", 80, "NAT", 1)
B = Dest("10.1.0.2", 80, "NAT", 1)


def t(*services):
    return make_table(*services)


CASES = [
    # name, desired, actual, owned, expected ops as strings
    ("equal: nothing", t(service(S1, A, B)), t(service(S1, A, B)), {K1}, []),
    ("stats differ: nothing", t(service(S1, A)), t(service(S1, Dest("10.1.0.1", 80, "NAT", 1, active=9))),
     {K1}, []),
    ("new service", t(service(S1, A)), t(), set(),
     ["add service TCP 192.0.2.1:80", "add dest TCP 192.0.2.1:80 -> 10.1.0.1:80"]),
    ("weight change is one set", t(service(S1, A, Dest("10.1.0.2", 80, "NAT", 5))), t(service(S1, A, B)), {K1},
     ["set dest TCP 192.0.2.1:80 -> 10.1.0.2:80"]),
    ("threshold change is one set", t(service(S1, Dest("10.1.0.1", 80, "NAT", 1, 100))), t(service(S1, A)),
     {K1}, ["set dest TCP 192.0.2.1:80 -> 10.1.0.1:80"]),
    ("method change is one set", t(service(S1, Dest("10.1.0.1", 80, "DR", 1))), t(service(S1, A)), {K1},
     ["set dest TCP 192.0.2.1:80 -> 10.1.0.1:80"]),
    ("kernel LOCAL matches any method", t(service(S1, Dest("127.0.0.1", 80, "DR", 1))),
     t(service(S1, Dest("127.0.0.1", 80, "LOCAL", 1))), {K1}, []),
    ("scheduler change is one set", t(service(ServiceSpec(K1, "wrr"), A)), t(service(S1, A)), {K1},
     ["set service TCP 192.0.2.1:80"]),
    ("persistence change is one set", t(service(ServiceSpec(K1, "rr", True, 300, 24), A)),
     t(service(S1, A)), {K1}, ["set service TCP 192.0.2.1:80"]),
    ("dest removed", t(service(S1, A)), t(service(S1, A, B)), {K1},
     ["del dest TCP 192.0.2.1:80 -> 10.1.0.2:80"]),
    ("owned service removed", t(), t(service(S1, A)), {K1}, ["del service TCP 192.0.2.1:80"]),
    ("foreign service untouched", t(service(S1, A)), t(service(S1, A), service(S2, A)), {K1}, []),
    ("adopt matching foreign service, fix its dests",
     t(service(S1, A)), t(service(ServiceSpec(K1, "wlc"), B)), set(),
     ["set service TCP 192.0.2.1:80", "del dest TCP 192.0.2.1:80 -> 10.1.0.2:80",
      "add dest TCP 192.0.2.1:80 -> 10.1.0.1:80"]),
    ("deletes before sets before adds",
     t(service(S1, Dest("10.1.0.1", 80, "NAT", 2), Dest("10.1.0.3", 80))),
     t(service(S1, A, B)), {K1},
     ["del dest TCP 192.0.2.1:80 -> 10.1.0.2:80", "set dest TCP 192.0.2.1:80 -> 10.1.0.1:80",
      "add dest TCP 192.0.2.1:80 -> 10.1.0.3:80"]),
    ("service deletion first", t(service(S2, A)), t(service(S1, A)), {K1},
     ["del service TCP 192.0.2.1:80", "add service UDP 192.0.2.1:53", "add dest UDP 192.0.2.1:53 -> 10.1.0.1:80"]),
    ("fwmark service", t(service(ServiceSpec(FW, "rr"), Dest("10.1.0.1", 0, "DR"))), t(), set(),
     ["add service FWM 7", "add dest FWM 7 -> 10.1.0.1:0"]),
]


@pytest.mark.parametrize("name,desired,actual,owned,expected", CASES, ids=[c[0] for c in CASES])
def test_minimal_ops(name, desired, actual, owned, expected) -> None:
    ops = reconcile(desired, actual, owned)
    assert [str(op) for op in ops] == expected
    assert all(op.action in ("add", "set", "del") for op in ops)
    after = apply_ops(actual, ops)  # the ops are valid for a strict kernel and reach the goal
    for key, svc in desired.items():
        assert after[key].spec == svc.spec and after[key].dests.keys() == svc.dests.keys()
        assert all(same_dest(d, after[key].dests[k]) for k, d in svc.dests.items())
    assert reconcile(desired, after, set(owned) | set(desired)) == []  # idempotent


def test_apply_ops_is_strict() -> None:
    with pytest.raises(KeyError):
        apply_ops(t(service(S1)), reconcile(t(service(S1)), t(), set()))
