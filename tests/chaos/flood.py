"""Send malformed and hostile VRRP packets from a lab host (run inside it as a script).

argv: SRC PEER VRID VIP TOTAL RATE. Prints one line per kind: KIND SENT. Every packet claims
priority 254 for VRID (accepted once, it would take the master's VIP). Kinds, TOTAL/9 each (rounded up):
off-link (TTL 64 to the group), non-peer (to PEER's own address), and malformed ones to the group
with TTL 255: bad checksum, version 4, type 2, truncated, interval 0, two addresses, a wrong address.
"""
from __future__ import annotations

import socket
import struct
import sys
import time
from ipaddress import IPv4Address

from pykeepalived.net.checksum import internet_checksum, ipv4_pseudo_header
from pykeepalived.vrrp.packet import Advertisement, AuthType, encode

GROUP = IPv4Address("224.0.0.18")


def datagram(payload: bytes, src: IPv4Address, dst: IPv4Address, ttl: int = 255) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 0, 0, ttl, 112, 0, src.packed, dst.packed)
    return header[:10] + struct.pack("!H", internet_checksum(header)) + header[12:] + payload


def resum(message: bytes, src: IPv4Address, dst: IPv4Address) -> bytes:
    """The VRRPv3 checksum recomputed over a mutated message (so only the mutation is wrong)."""
    zeroed = message[:6] + b"\0\0" + message[8:]
    return message[:6] + struct.pack("!H", internet_checksum(ipv4_pseudo_header(src, dst, len(zeroed)) + zeroed)) + message[8:]


def kinds(src: IPv4Address, peer: IPv4Address, vrid: int, vip: IPv4Address) -> dict[str, bytes]:
    def advert(*addresses: IPv4Address) -> Advertisement:
        return Advertisement(version=3, vrid=vrid, priority=254, advert_interval=100, addresses=addresses,
                             auth_type=AuthType.NONE, auth_data=b"")

    good = encode(advert(vip), src, GROUP)
    return {
        "off-link (TTL 64)": datagram(good, src, GROUP, ttl=64),
        "non-peer (to our address)": datagram(encode(advert(vip), src, peer), src, peer),
        "bad checksum": datagram(good[:6] + bytes([good[6] ^ 0xFF]) + good[7:], src, GROUP),
        "version 4": datagram(resum(bytes([0x41]) + good[1:], src, GROUP), src, GROUP),
        "type 2": datagram(resum(bytes([0x32]) + good[1:], src, GROUP), src, GROUP),
        "truncated": datagram(good[:6], src, GROUP),
        "interval 0": datagram(resum(good[:4] + b"\0\0" + good[6:], src, GROUP), src, GROUP),
        "two addresses": datagram(encode(advert(vip, vip + 1), src, GROUP), src, GROUP),
        "wrong address": datagram(encode(advert(vip + 1), src, GROUP), src, GROUP),
    }


def main(argv: list[str]) -> None:
    src, peer, vrid, vip, total, rate = argv
    packets = kinds(IPv4Address(src), IPv4Address(peer), int(vrid), IPv4Address(vip))
    each = -(-int(total) // len(packets))  # at least TOTAL in all
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")  # a route for 224.0.0.18
    gap, start, n = 1.0 / float(rate), time.monotonic(), 0
    for _round in range(each):  # the kinds interleaved, paced at RATE packets per second
        for data in packets.values():
            sock.sendto(data, (socket.inet_ntoa(data[16:20]), 0))
            n += 1
            ahead = start + n * gap - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    for kind in packets:
        print(f"{kind}\t{each}")


if __name__ == "__main__":
    main(sys.argv[1:])
