"""The plane against each backend (conftest `kernel`: in-memory, nftables): health, drains, ownership, stop."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.lb.backend import Applied
from pykeepalived.lb.memory import MemoryBackend
from pykeepalived.lb.ownership import load_owned
from pykeepalived.lb.plane import LoadBalancer
from pykeepalived.lb.table import Dest, ServiceKey, ServiceSpec, make_table, service

from .helpers import conf, weights

TEXT = """virtual_server 192.0.2.1 80 { protocol TCP lb_algo rr sorry_server 10.9.9.9 80
  real_server 10.1.0.1 80 { }
  real_server 10.1.0.2 80 { } }"""
VS = "TCP 192.0.2.1:80"
FOREIGN = ServiceKey.ip("TCP", "203.0.113.9", 80)


def test_lifecycle(tmp_path: Path, kernel) -> None:
    foreign = service(ServiceSpec(FOREIGN, "wlc"), Dest("10.2.0.1", 80))
    k = kernel(make_table(foreign))
    lb = LoadBalancer(conf(TEXT), k.backend, tmp_path)
    first = lb.start()
    assert len(first.ops) == 3 and not first.errors
    assert load_owned(tmp_path) == {ServiceKey.ip("TCP", "192.0.2.1", 80)}
    assert lb.reconcile().ops == []  # steady state: nothing to do

    lb.set_health(VS, ("10.1.0.1", 80), False)
    lb.set_health(VS, ("10.1.0.2", 80), False, None)
    r = lb.reconcile()
    assert [e.up for e in r.events] == [False]
    assert weights(k.view())[VS] == {"10.9.9.9:80": 1}

    lb.set_health(VS, ("10.1.0.2", 80), True)
    lb.drain("10.1.0.2")
    r = lb.reconcile()
    assert weights(k.view())[VS] == {"10.9.9.9:80": 1} and r.events == []  # drained: no live weight
    lb.drain("10.1.0.2", drained=False)
    r = lb.reconcile()
    assert weights(k.view())[VS] == {"10.1.0.2:80": 1} and [e.up for e in r.events] == [True]
    lb.set_weight("10.1.0.2", 9)
    lb.reconcile()
    assert weights(k.view())[VS] == {"10.1.0.2:80": 9}

    status = lb.status()["virtual_servers"][0]
    assert status["quorum_up"] is True
    rs2 = status["real_servers"][1]
    assert (rs2["up"], rs2["weight"], rs2["effective_weight"], rs2["kernel"][0]["weight"]) == (True, 1, 9, 9)

    lb.stop()
    assert list(k.view()) == [FOREIGN]  # only ours went
    assert load_owned(tmp_path) == set()


def test_restart_removes_stale_own_services_only(tmp_path: Path, kernel) -> None:
    k = kernel()
    lb = LoadBalancer(conf(TEXT + "\nvirtual_server 192.0.2.2 80 { protocol TCP real_server 10.1.0.1 80 { } }"),
                      k.backend, tmp_path, flush_on_stop=False)
    lb.start()
    lb.stop()  # leaves the tables
    if k.owns_table:
        k.backend.others.update(make_table(service(ServiceSpec(FOREIGN))))
    else:
        k.backend.table.update(make_table(service(ServiceSpec(FOREIGN))))
    assert len(k.view()) == 3
    again = LoadBalancer(conf(TEXT), k.backend, tmp_path)  # the second virtual server is gone
    r = again.start()
    assert [str(op) for op in r.ops] == ["del service TCP 192.0.2.2:80"]
    assert set(k.view()) == {ServiceKey.ip("TCP", "192.0.2.1", 80), FOREIGN}


def test_reload_keeps_health_of_remaining_servers(tmp_path: Path, kernel) -> None:
    k = kernel()
    lb = LoadBalancer(conf(TEXT), k.backend, tmp_path)
    lb.start()
    lb.set_health(VS, ("10.1.0.1", 80), False)
    lb.reconcile()
    r = lb.reload(conf(TEXT.replace("lb_algo rr", "lb_algo wrr")))
    assert [str(op) for op in r.ops] == ["set service TCP 192.0.2.1:80"]
    assert weights(k.view())[VS] == {"10.1.0.2:80": 1}


def test_lvs_flush_clears_everything_first(tmp_path: Path, kernel) -> None:
    k = kernel(make_table(service(ServiceSpec(FOREIGN))))
    lb = LoadBalancer(conf("global_defs { lvs_flush }\n" + TEXT), k.backend, tmp_path)
    lb.start()
    # IPVS: the kernel's whole table; nftables: our table only (other tables are never named)
    assert (FOREIGN in k.view()) is k.owns_table


def test_failed_add_is_not_owned(tmp_path: Path) -> None:
    class FailingAdds(MemoryBackend):
        def apply(self, ops):
            return [Applied(op, "EINVAL") if op.action == "add" else Applied(op) for op in ops]

    lb = LoadBalancer(conf(TEXT), FailingAdds(), tmp_path)
    r = lb.start()
    assert r.errors and lb.owned == set() and load_owned(tmp_path) == set()


class CountingBackend(MemoryBackend):
    """The in-memory kernel, recording which services each dump was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[object] = []

    def dump(self, counts=True, servers=None, keys=None):
        self.asked.append(None if keys is None else set(keys))
        return super().dump(counts, servers, keys)


def test_a_reconcile_reads_only_the_services_that_moved(tmp_path: Path) -> None:
    """A shared table (IPVS) is not read back whole per change: 2,001 dest dumps at 2,000 x 20."""
    other = ServiceKey.ip("TCP", "192.0.2.2", 80)
    backend = CountingBackend()
    lb = LoadBalancer(conf(TEXT + "\nvirtual_server 192.0.2.2 80 { protocol TCP real_server 10.1.0.3 80 { } }"),
                      backend, tmp_path)
    lb.start()
    assert backend.asked == [None]  # a start compares everything
    lb.set_health("TCP 192.0.2.2:80", ("10.1.0.3", 80), False)
    assert lb.reconcile().ops and backend.asked[-1] == {other}
    assert lb.reconcile().ops == [] and backend.asked[-1] == set()
    backend.table[other].dests.clear()  # someone else's change to our service: kept until it moves
    assert lb.reconcile().ops == []
    lb.set_health("TCP 192.0.2.2:80", ("10.1.0.3", 80), True)
    assert [op.action for op in lb.reconcile().ops] == ["add"]  # read again as it moved: made whole
    assert [(d.addr, d.weight) for d in backend.table[other].dests.values()] == [("10.1.0.3", 1)]



def test_status_lists_each_virtual_servers_own_real_servers(tmp_path: Path) -> None:
    """status() groups the real servers by virtual server once (it compared every server with
    every virtual server: 6.8 s at 1,000 x 20, a loop blocked past the stall)."""
    text = "".join(f"virtual_server 192.0.2.{v} 80 {{\n    protocol TCP\n"
                   f"    real_server 10.1.{v}.1 80 {{\n    }}\n    real_server 10.1.{v}.2 80 {{\n    }}\n}}\n"
                   for v in (3, 1, 2))
    lb = LoadBalancer(conf(text), MemoryBackend(), tmp_path)
    lb.start()
    listed = [(v["virtual_server"], [r["address"] for r in v["real_servers"]])
              for v in lb.status()["virtual_servers"]]
    assert listed == [(f"TCP 192.0.2.{v}:80", [f"10.1.{v}.1", f"10.1.{v}.2"]) for v in (3, 1, 2)]
