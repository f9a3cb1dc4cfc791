"""VIPs left by a crash (issue 6): the record of what we added, and adoption at start (root, netns)."""
from __future__ import annotations

import pytest

from .netns_probe import needs_netns, run_probe

pytestmark = needs_netns


@pytest.fixture(scope="module")
def probe() -> dict:
    return run_probe("addresses_probe.py")


def test_record_holds_only_what_we_added(probe: dict) -> None:
    # 192.0.2.9 was there before: EEXIST, not recorded
    assert probe["record_after_add"] == [["d0", "192.0.2.100", 24], ["d0", "192.0.2.101", 24],
                                         ["d0", "2001:db8::100", 64]]


def test_adopts_recorded_and_present_only(probe: dict) -> None:
    # .101 was recorded but removed by hand: forgotten; .102 present but never recorded: not ours
    assert probe["adopted"] == [["d0", "192.0.2.100", 24], ["d0", "2001:db8::100", 64]]
    assert probe["record_after_adopt"] == probe["adopted"]


def test_remove_all_removes_adopted_never_foreign(probe: dict) -> None:
    assert probe["present_after_remove_all"] == ["192.0.2.102/24", "192.0.2.9/24"]
    assert probe["record_after_remove_all"] == []


def test_bad_or_missing_record_adopts_nothing(probe: dict) -> None:
    assert probe["adopted_from_garbage"] == []
    assert probe["adopted_without_state"] == []


def test_add_after_interface_recreated_carries_scope_label_brd(probe: dict) -> None:
    # encoded for the old d0's index; re-encoded for the new one; a missing interface fails alone
    assert probe["recreated_owned"] == [True, True, False]
    assert probe["recreated_lines"] == ["192.0.2.121/24 scope global d0",
                                        "198.51.100.120/24 brd 198.51.100.255 scope host d0:vip"]
    assert probe["recreated_after_remove"] == []


def test_host_addresses_lists_every_interface_address(probe: dict) -> None:
    """What the load balancer's drain wait counts connections against (lb/server.py view)."""
    assert probe["host_addresses"] == ["2001:db8::7", "203.0.113.7"]  # d0's and its peer d1's
