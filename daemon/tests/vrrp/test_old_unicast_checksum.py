"""vrrp_instance old_unicast_checksum [never]: VRRPv3 unicast adverts with keepalived < 1.3.6's
checksum (the IPv4 pseudo-header names 224.0.0.18, not the peer), as a peer decodes them."""
from __future__ import annotations

import struct
from ipaddress import IPv4Address

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.net.checksum import internet_checksum
from pykeepalived.vrrp.from_config import router_config
from pykeepalived.vrrp.packet import ChecksumForm, decode, encode

SRC, PEER = IPv4Address("192.0.2.11"), IPv4Address("192.0.2.12")


def conf(line: str) -> str:
    return ("vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    version 3\n"
            f"    unicast_src_ip {SRC}\n    unicast_peer {{\n        {PEER}\n    }}\n{line}"
            "    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\n")


def sent(line: str) -> bytes:
    config, diags = loads_config(conf(line), "k.conf")
    assert not diags.errors, [str(e) for e in diags.errors]
    cfg = router_config(config.vrrp_instances["VI_1"], config, SRC)
    return encode(cfg.advertisement(100), SRC, PEER)


def pseudo_sum(message: bytes, dst: IPv4Address) -> int:
    return internet_checksum(SRC.packed + dst.packed + struct.pack("!BBH", 0, 112, len(message)) + message)


@pytest.mark.parametrize(("line", "form", "dst"), [
    ("", ChecksumForm.RFC, PEER),
    ("    old_unicast_checksum never\n", ChecksumForm.RFC, PEER),
    ("    old_unicast_checksum\n", ChecksumForm.MULTICAST_PSEUDO_HEADER, IPv4Address("224.0.0.18")),
])
def test_the_form_on_the_wire(line: str, form: ChecksumForm, dst: IPv4Address) -> None:
    message = sent(line)
    assert pseudo_sum(message, dst) == 0  # the sum closes over the pseudo-header naming dst
    assert decode(message, SRC, PEER, None).checksum_form is form


def test_a_bad_word_says_where() -> None:
    _config, diags = loads_config(conf("    old_unicast_checksum always\n"), "k.conf")
    assert [str(e) for e in diags.errors] == [
        "k.conf:9:26: error: old_unicast_checksum: takes nothing or 'never', got 'always'"]
