"""desired.Assembly: the desired state kept part by part gives what a whole assemble gives."""

from __future__ import annotations

from pykeepalived.lb.desired import Assembly, VsPart, assemble
from pykeepalived.lb.table import Dest, Service, ServiceKey, ServiceSpec

SHARED = ServiceKey.ip("TCP", "192.0.2.1", 80)


def part(vkey: str, keys: list[ServiceKey], *addrs: str, quorum: bool | None = True) -> VsPart:
    services = {k: Service(ServiceSpec(k, "wrr"), {(a, 80): Dest(a, 80) for a in addrs}) for k in keys}
    return VsPart(vkey, services, list(keys), quorum, [], [], [] if quorum is not None else [f"{vkey}: bad"],
                  frozenset(addrs))


def dests(svc: Service) -> list[str]:
    return [d.addr for d in svc.dests.values()]


def test_a_shared_service_merges_in_config_order_and_follows_removals() -> None:
    a = part("TCP a", [SHARED], "10.0.0.1")
    b = part("TCP b", [SHARED, ServiceKey.ip("TCP", "192.0.2.2", 80)], "10.0.0.2")
    asm = Assembly()
    desired, changed = asm.update([2, 1], {1: a, 2: b}, ())  # b comes first in the config
    assert dests(desired.table[SHARED]) == ["10.0.0.2", "10.0.0.1"]
    assert changed == [SHARED, ServiceKey.ip("TCP", "192.0.2.2", 80)]
    assert desired.table == assemble([b, a]).table and desired.services == {"TCP b": b.keys, "TCP a": a.keys}
    desired, changed = asm.update([1], {}, [2])  # b removed
    assert desired.table == {SHARED: a.services[SHARED]} and desired.table[SHARED] is a.services[SHARED]
    assert set(changed) == {SHARED, ServiceKey.ip("TCP", "192.0.2.2", 80)}
    assert desired.quorum == {"TCP a": True} and [p.vkey for p in desired.parts] == ["TCP a"]


def test_an_update_touches_only_the_services_of_the_parts_it_moves() -> None:
    parts = {i: part(f"TCP {i}", [ServiceKey.ip("TCP", f"192.0.2.{i}", 80)], f"10.0.{i}.1") for i in range(1, 6)}
    asm = Assembly()
    asm.update(list(parts), parts, ())
    new = part("TCP 3", [ServiceKey.ip("TCP", "192.0.2.3", 80)], "10.0.3.9")
    desired, changed = asm.update(list(parts), {3: new}, ())
    assert changed == [ServiceKey.ip("TCP", "192.0.2.3", 80)]
    assert desired.table == assemble([parts[1], parts[2], new, parts[4], parts[5]]).table
    assert [v for v in desired.parts] == [parts[1], parts[2], new, parts[4], parts[5]]


def test_errors_and_events_come_in_config_order_events_only_from_new_parts() -> None:
    bad = part("TCP bad", [], quorum=None)
    good = part("TCP good", [SHARED], "10.0.0.1")
    asm = Assembly()
    desired, _ = asm.update([7, 8], {7: bad, 8: good}, ())
    assert desired.errors == ["TCP bad: bad"] and "TCP bad" not in desired.quorum
    desired, changed = asm.update([7, 8], {}, ())
    assert desired.errors == ["TCP bad: bad"] and changed == [] and desired.events == []
