"""Accept_Mode off: the nftables VIP filter (net/vip_filter.py), as text and on a real kernel."""
from __future__ import annotations

import shutil
from ipaddress import ip_address

import pytest

from pykeepalived.net.vip_filter import render

from .netns_probe import needs_netns, run_probe


def test_render_golden() -> None:
    script = render([ip_address("192.0.2.9"), ip_address("192.0.2.10"), ip_address("2001:db8::1"),
                     ip_address("192.0.2.9")])
    assert script == """\
add table inet pykeepalived_vrrp
delete table inet pykeepalived_vrrp
table inet pykeepalived_vrrp {
  set vips4 { type ipv4_addr; elements = { 192.0.2.9, 192.0.2.10 }; }
  set vips6 { type ipv6_addr; elements = { 2001:db8::1 }; }
  chain in {
    type filter hook input priority -1; policy accept;
    ip daddr @vips4 drop
    ip6 daddr @vips6 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    ip6 daddr @vips6 drop
  }
  chain out {
    type filter hook output priority -1; policy accept;
    ip saddr @vips4 drop
    ip6 saddr @vips6 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    ip6 saddr @vips6 drop
  }
}
"""


def test_nothing_to_block_only_deletes_our_table() -> None:
    assert render([]) == "add table inet pykeepalived_vrrp\ndelete table inet pykeepalived_vrrp\n"


@pytest.fixture(scope="module")
def probe() -> dict:
    if not shutil.which("nft"):
        pytest.skip("needs nft(8)")
    return run_probe("vip_filter_probe.py")


@needs_netns
def test_no_accept_drops_vip_traffic_and_nothing_else(probe: dict) -> None:
    assert probe["before"] == [True, True]
    assert probe["applied"] is True
    assert "elements = { 192.0.2.50 }" in probe["listing"] and "elements = { 2001:db8::50 }" in probe["listing"]
    assert probe["blocked"] == [False, False]
    assert probe["other_address"] is True


@needs_netns
def test_a_stale_table_is_removed_by_the_next_daemon(probe: dict) -> None:
    assert probe["stale_removed"] is True
    assert probe["after_clear"] == [True, True]
    assert "pykeepalived_vrrp" not in probe["tables_left"]
