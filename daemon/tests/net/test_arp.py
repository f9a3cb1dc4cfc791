"""Gratuitous ARP and unsolicited NA frames, byte for byte (RFC 5227 3, RFC 4861 4.4)."""
from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.net.arp import announcement, gratuitous_arp, unsolicited_na
from pykeepalived.net.checksum import internet_checksum, ipv6_pseudo_header

MAC = bytes.fromhex("020000000001")


def test_gratuitous_arp_is_a_broadcast_request_for_the_vip() -> None:
    frame = gratuitous_arp(MAC, IPv4Address("192.0.2.200"))
    assert frame.hex() == (
        "ffffffffffff" "020000000001" "0806"          # Ethernet: broadcast, ARP
        "0001" "0800" "06" "04" "0001"                 # Ethernet/IPv4, request
        "020000000001" "c00002c8"                      # sender: our MAC, the VIP
        "ffffffffffff" "c00002c8")                     # target: broadcast, the VIP
    assert len(frame) == 42


def test_unsolicited_na_fields_and_checksum() -> None:
    src, vip = IPv6Address("fe80::1"), IPv6Address("2001:db8::200")
    frame = unsolicited_na(MAC, src, vip)
    assert frame[:14] == bytes.fromhex("333300000001") + MAC + b"\x86\xdd"
    ip6, icmp = frame[14:54], frame[54:]
    assert ip6[6] == 58 and ip6[7] == 255  # ICMPv6, hop limit 255 (RFC 4861 7.1.2)
    assert IPv6Address(ip6[8:24]) == src and IPv6Address(ip6[24:40]) == IPv6Address("ff02::1")
    assert struct.unpack("!H", ip6[4:6])[0] == len(icmp) == 32
    assert icmp[0] == 136 and icmp[4] & 0x20  # NA, Override
    assert not icmp[4] & 0x40  # not Solicited
    assert IPv6Address(icmp[8:24]) == vip
    assert icmp[24:26] == b"\x02\x01" and icmp[26:32] == MAC  # target link-layer address option
    assert internet_checksum(ipv6_pseudo_header(src, IPv6Address("ff02::1"), len(icmp), 58) + icmp) == 0


def test_announcement_needs_a_link_local_source_for_ipv6() -> None:
    assert announcement(MAC, IPv6Address("2001:db8::1"), None) is None
    assert announcement(MAC, IPv4Address("192.0.2.1"), None) == gratuitous_arp(MAC, IPv4Address("192.0.2.1"))
