"""Forge VRRP adverts from a lab host that is not a peer (run inside it: ``python -m``-less, as a script).

argv: SRC DST VRID PRIORITY TTL VERSION COUNT INTERVAL VIP...  Sends COUNT well-formed adverts
(our own encoder, so only the IP header lies) with IP_HDRINCL, INTERVAL seconds apart.
"""
from __future__ import annotations

import socket
import sys
import time
from ipaddress import IPv4Address

from pykeepalived.vrrp.ippacket import encode_ipv4_packet
from pykeepalived.vrrp.packet import Advertisement, AuthType


def main(argv: list[str]) -> None:
    src, dst, vrid, priority, ttl, version, count, interval, *vips = argv
    advert = Advertisement(version=int(version), vrid=int(vrid), priority=int(priority),
                           advert_interval=1 if version == "2" else 100,
                           addresses=tuple(IPv4Address(v) for v in vips),
                           auth_type=AuthType.NONE, auth_data=bytes(8) if version == "2" else b"")
    data = encode_ipv4_packet(advert, IPv4Address(src), IPv4Address(dst), ttl=int(ttl))
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")  # a route for 224.0.0.18
    for i in range(int(count)):
        sock.sendto(data, (dst, 0))
        if i + 1 < int(count):
            time.sleep(float(interval))


if __name__ == "__main__":
    main(sys.argv[1:])
