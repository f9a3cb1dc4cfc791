"""net/vmac.py: the VMAC's name, MAC and netlink messages (pure), and real macvlans in a private netns."""
from __future__ import annotations

import pytest

from pykeepalived.net import rtnl
from pykeepalived.net.vmac import (
    MACVLAN_MODE_PRIVATE,
    VmacManager,
    VmacSpec,
    encode_create,
    encode_delete,
    encode_up,
    matches,
    parse_links,
    render_firewall,
    virtual_mac,
    vmac_name,
)

from .netns_probe import needs_netns, run_probe


def test_virtual_mac_is_rfc5798s() -> None:
    assert virtual_mac(7, 4).hex(":") == "00:00:5e:00:01:07"
    assert virtual_mac(255, 6).hex(":") == "00:00:5e:00:02:ff"


@pytest.mark.parametrize(("prefix", "vrid", "name"), [
    (None, 51, "vrrp.51"), ("vm", 1, "vm.1"), ("averyveryverylongprefix", 255, "averyveryve.255"),
])
def test_vmac_name_fits_ifnamsiz(prefix, vrid, name) -> None:
    assert vmac_name(prefix, vrid) == name and len(name) <= 15


def test_create_request_reads_back_as_a_private_macvlan() -> None:
    spec = VmacSpec("vrrp.9", "eth0", virtual_mac(9, 4))
    message = encode_create(spec, 4)
    (kind, _seq, _body), = rtnl.messages(message)
    flags = rtnl.NLMSG_HEADER.unpack_from(message)[2]
    assert kind == rtnl.RTM_NEWLINK and flags & rtnl.NLM_F_CREATE and flags & rtnl.NLM_F_EXCL
    link, = parse_links(message)  # the request carries what a dump of the link shows
    assert (link.name, link.mac, link.base_index, link.kind, link.macvlan_mode) == \
        ("vrrp.9", spec.mac, 4, "macvlan", MACVLAN_MODE_PRIVATE)
    assert matches(link, spec, 4) and not matches(link, spec, 5)
    assert not matches(link, VmacSpec("vrrp.9", "eth0", virtual_mac(10, 4)), 4)


def test_up_and_delete_name_the_link() -> None:
    (kind, _s, body), = rtnl.messages(encode_up(12))
    _f, _t, index, flags, change = rtnl.IFINFOMSG.unpack_from(body)
    assert (kind, index, flags, change) == (rtnl.RTM_NEWLINK, 12, 1, 1)
    (kind, _s, body), = rtnl.messages(encode_delete(12))
    assert kind == rtnl.RTM_DELLINK and rtnl.IFINFOMSG.unpack_from(body)[2] == 12


def test_firewall_moves_reports_to_the_base_and_goes_with_the_last_vmac() -> None:
    script = render_firewall([("vrrp.7", "eth0")])
    assert 'oifname "vrrp.7" ip protocol igmp dup to ip daddr device "eth0"' in script
    assert 'oifname "vrrp.7" ip protocol igmp drop' in script
    assert "dup to ip6 daddr device \"eth0\"" in script and "nd-router-solicit" in script
    assert render_firewall([]) == ("add table ip pykeepalived_vmac\ndelete table ip pykeepalived_vmac\n"
                                   "add table ip6 pykeepalived_vmac\ndelete table ip6 pykeepalived_vmac\n")


def test_remove_of_a_link_never_recorded_does_nothing(tmp_path) -> None:
    manager = VmacManager(tmp_path / "vmacs.json")
    manager.remove("eth0")  # not ours: no netlink, no sysctl, no record written
    assert not manager.owns("eth0") and not (tmp_path / "vmacs.json").exists()


@needs_netns
def test_vmac_lifecycle_in_a_private_netns() -> None:
    got = run_probe("vmac_probe.py", beside=__file__)
    assert got["created"] == [True, "00:00:5e:00:01:07", "macvlan", "private", "b0", True]
    assert got["vmac_sysctls"] == [1, 1, 0, 1, 1]  # arp_ignore, accept_local, rp_filter, promote_secondaries, no IPv6
    assert got["base_sysctls"] == [1, 1]
    assert got["addr_gen_mode"] in (None, "none")  # iproute2 prints it only with newer versions
    assert got["adopted"] is True
    assert got["replaced"] == [True, "00:00:5e:00:01:07"]
    assert "already another instance's" in got["second"]
    assert "not created by pykeepalived" in got["foreign"][0] and got["foreign"][1] is True
    assert got["foreign_kept"] is True
    assert got["v6"] == ["00:00:5e:00:02:09", "fe80::9/64"]
    assert got["removed"] == [True, 0, 0, {"links": {}, "bases": {}, "rp_filter": {}}]
    assert got["rp_cleared"] == [0, 2, 2, 2, 0]  # all, default, b0, b1, the VMAC
    assert got["rp_restored"] == [2, 0, 0, 0]
    assert 'oifname "vrrp.7" ip protocol igmp dup to ip daddr device "b0"' in got["nft"]
    assert "pykeepalived_vmac" not in got["nft_after"]
