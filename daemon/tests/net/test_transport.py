"""VrrpSocket with real raw sockets, in a private network namespace (needs root).

Multicast join and send with TTL 255, unicast, prepared adverts sent again, the TTL/hop-limit 255 rule
on multicast receipt (IPv4 header / IPV6_HOPLIMIT ancillary data), drops
counted by reason, no loopback of our own multicast.
"""
from __future__ import annotations

import pytest

from .netns_probe import needs_netns, run_probe

pytestmark = needs_netns


@pytest.fixture(scope="module")
def probe() -> dict:
    return run_probe("transport_probe.py")


def test_ipv4_multicast_unicast_and_drops(probe: dict) -> None:
    v4 = probe["v4"]
    assert ["192.0.2.1", "224.0.0.18", 255, 100] in v4["adverts"]
    assert ["192.0.2.1", "192.0.2.2", 255, 100] in v4["adverts"]
    assert ["192.0.2.1", "192.0.2.2", 64, 100] in v4["adverts"]  # unicast: TTL not enforced (keepalived)
    assert v4["adverts"].count(["192.0.2.1", "224.0.0.18", 255, 0]) == 2  # one prepared advert, sent twice
    assert len(v4["adverts"]) == 5
    assert all(age is not None and 0 <= age < 1 for age in v4["ages"]), v4["ages"]  # SO_TIMESTAMPNS
    assert sorted(v4["drops"]) == ["checksum", "ttl"]
    assert v4["socket_drops"] == {}  # the sender never heard its own multicast


def test_ipv6_multicast_hop_limit(probe: dict) -> None:
    v6 = probe["v6"]
    assert v6["adverts"] == [[v6["src"], "ff02::12", 255, 100], [v6["src"], "ff02::12", 255, 0]]
    assert all(age is not None and 0 <= age < 1 for age in v6["ages"]), v6["ages"]
    assert v6["drops"] == ["ttl"]


def test_received_at_turns_the_kernel_stamp_into_loop_time() -> None:
    import socket
    import time

    from pykeepalived.vrrp.transport import SO_TIMESTAMPNS, TIMESPEC, received_at

    def stamp(age: float) -> list:
        t = time.time() - age
        return [(socket.SOL_SOCKET, SO_TIMESTAMPNS, TIMESPEC.pack(int(t), int((t % 1) * 1e9)))]

    got = received_at(stamp(0.010))
    assert got is not None and 0.009 <= time.monotonic() - got <= 0.5
    assert received_at(stamp(-5)) is None  # wall clock stepped back: use our own clock
    assert received_at(stamp(5)) is None  # stepped forward
    assert received_at([]) is None
    # a clock read once for a batch: a stamp a little after it (queued during the batch) counts
    clock = (time.time(), time.monotonic())
    later = stamp(-0.002)
    got = received_at(later, clock)
    assert got is not None and abs(got - (clock[1] + 0.002)) < 0.001
    assert received_at(stamp(-5), clock) is None
