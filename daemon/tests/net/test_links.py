"""Link events for track_interface: the rtnetlink parser (byte vectors) and the watcher on a real kernel."""
from __future__ import annotations

import struct

from pykeepalived.net.links import IFF_RUNNING, IFF_UP, parse_links

from .netns_probe import needs_netns, run_probe


def link_message(kind: int, ifname: str, flags: int, index: int = 7) -> bytes:
    name = ifname.encode() + b"\0"
    attr = struct.pack("=HH", 4 + len(name), 3) + name
    attr += b"\0" * (-len(attr) % 4)
    mtu = struct.pack("=HHI", 8, 4, 1500)  # IFLA_MTU first: the name is not always the first attribute
    body = struct.pack("=BxHiII", 0, 1, index, flags, 0xFFFFFFFF) + mtu + attr
    return struct.pack("=IHHII", 16 + len(body), kind, 0, 0, 0) + body


def test_new_and_deleted_links() -> None:
    data = (link_message(16, "eth0", IFF_UP | IFF_RUNNING) + link_message(16, "eth1", IFF_UP)
            + link_message(17, "eth2", IFF_UP | IFF_RUNNING))
    assert parse_links(data) == [("eth0", True), ("eth1", False), ("eth2", False)]


def test_other_messages_and_truncation_are_skipped() -> None:
    addr = struct.pack("=IHHII", 24, 20, 0, 0, 0) + b"\0" * 8  # RTM_NEWADDR
    good = link_message(16, "eth0", IFF_UP | IFF_RUNNING)
    assert parse_links(addr + good) == [("eth0", True)]
    assert parse_links(good[:-6]) == []
    assert parse_links(struct.pack("=IHHII", 8, 16, 0, 0, 0)) == []


@needs_netns
def test_watcher_sees_carrier_loss_and_return_without_polling() -> None:
    got = run_probe("links_probe.py")
    assert got["initial"] == [["d0", True]]  # from the start-up dump
    assert got["events"] == [["d0", False], ["d0", True], ["d0", False]]  # peer down, up, link deleted
    assert got["late_watch"] == [["d1", False]]  # a link watched after start (a reload) is dumped once
