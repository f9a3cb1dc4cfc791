"""Gratuitous ARP (RFC 5227 3) and unsolicited Neighbor Advertisement (RFC 4861 4.4, 7.2.6).

A new master announces each VIP so switches and neighbours learn its MAC
(RFC 5798 6.4.1 / RFC 3768 6.4.1).  The frame builders are pure; the
``FrameSender`` is the only thing that touches a socket (AF_PACKET, bound
to the interface, so no IP routing decides where a frame goes).

Gratuitous ARP, as keepalived sends it: an ARP *request* with sender and
target protocol address both the VIP, target hardware address broadcast::

    dst ff:ff:ff:ff:ff:ff | src MAC | 0x0806
    htype 1 | ptype 0x0800 | hlen 6 | plen 4 | op 1
    sha MAC | spa VIP | tha ff:ff:ff:ff:ff:ff | tpa VIP

Unsolicited NA: ICMPv6 type 136 to ff02::1 (Ethernet 33:33:00:00:00:01),
hop limit 255, Override flag set, target the VIP, with a Target Link-Layer
Address option; the source is the interface's link-local address.
"""
from __future__ import annotations

import socket
import struct
from ipaddress import IPv4Address, IPv6Address

from .checksum import internet_checksum, ipv6_pseudo_header

BROADCAST_MAC = b"\xff" * 6
ALL_NODES = IPv6Address("ff02::1")
ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
IPPROTO_ICMPV6 = 58
ND_NEIGHBOR_ADVERT = 136
NA_FLAG_ROUTER, NA_FLAG_OVERRIDE = 0x80000000, 0x20000000
OPT_TARGET_LLADDR = 2


def gratuitous_arp(mac: bytes, address: IPv4Address) -> bytes:
    """Ethernet frame of one gratuitous ARP request for ``address``."""
    eth = BROADCAST_MAC + mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + address.packed + BROADCAST_MAC + address.packed
    return eth + arp


def unsolicited_na(mac: bytes, source: IPv6Address, target: IPv6Address, router: bool = False) -> bytes:
    """Ethernet frame of one unsolicited Neighbor Advertisement for ``target``."""
    flags = NA_FLAG_OVERRIDE | (NA_FLAG_ROUTER if router else 0)
    body = struct.pack("!BBHI", ND_NEIGHBOR_ADVERT, 0, 0, flags) + target.packed
    body += struct.pack("!BB", OPT_TARGET_LLADDR, 1) + mac
    csum = internet_checksum(ipv6_pseudo_header(source, ALL_NODES, len(body), IPPROTO_ICMPV6) + body)
    body = body[:2] + struct.pack("!H", csum) + body[4:]
    ip6 = struct.pack("!IHBB", 0x60000000, len(body), IPPROTO_ICMPV6, 255) + source.packed + ALL_NODES.packed
    eth = ALL_NODES_MAC + mac + struct.pack("!H", ETH_P_IPV6)
    return eth + ip6 + body


def announcement(mac: bytes, address: IPv4Address | IPv6Address, link_local: IPv6Address | None) -> bytes | None:
    """The frame announcing ``address``; None for IPv6 without a link-local source."""
    if isinstance(address, IPv4Address):
        return gratuitous_arp(mac, address)
    if link_local is None:
        return None
    return unsolicited_na(mac, link_local, address)


class FrameSender:
    """A non-blocking AF_PACKET socket bound to one interface; sends whole frames."""

    def __init__(self, ifname: str) -> None:
        self.ifname = ifname
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # protocol 0: receive nothing
        self.sock.setblocking(False)
        self.sock.bind((ifname, 0))
        self.sent = 0
        self.errors = 0

    def send(self, frame: bytes) -> bool:
        try:
            self.sock.send(frame)
        except OSError:
            self.errors += 1  # a full queue or a link going down: the next burst will do
            return False
        self.sent += 1
        return True

    def close(self) -> None:
        self.sock.close()
