"""Run by test_transport.py inside ``unshare --net`` (a fresh, private netns).

Two VrrpSockets on the two ends of a veth pair exchange real packets; prints
a JSON summary.  The far end lives in a second netns (a ``unshare --net
sleep`` child of ours, entered with setns for socket creation only), since
IPv4 drops packets whose source is local.  Refuses to touch sysctls unless
the netns is fresh.
"""
from __future__ import annotations

import asyncio
import ctypes
import json
import os
import socket
import subprocess
import time
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from pykeepalived.vrrp import Advertisement, encode, encode_ipv4_packet
from pykeepalived.vrrp.transport import VrrpSocket

A4, B4 = IPv4Address("192.0.2.1"), IPv4Address("192.0.2.2")
G4, G6 = IPv4Address("224.0.0.18"), IPv6Address("ff02::12")


class Collect:
    def __init__(self) -> None:
        self.adverts: list = []
        self.ages: list = []
        self.drops: list[str] = []

    def on_advert(self, got, received=None) -> None:
        self.adverts.append((str(got.src), str(got.dst), got.ttl, got.advert.priority))
        # the kernel's receive time, on our clock: not after the callback, and only a little before it
        self.ages.append(None if received is None else time.monotonic() - received)

    def on_drop(self, reason) -> None:
        self.drops.append(reason.value)


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def link_local(ifname: str) -> IPv6Address:
    for line in sh("ip", "-o", "-6", "addr", "show", "dev", ifname).splitlines():
        return IPv6Address(line.split()[3].split("/")[0])
    raise RuntimeError("no link-local")


async def main() -> None:
    assert len(sh("ip", "-o", "link").splitlines()) == 1, "not a fresh netns: refusing to go on"
    for path in ("all", "default"):
        Path(f"/proc/sys/net/ipv6/conf/{path}/accept_dad").write_text("0")  # this netns only
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", "va", "type", "veth", "peer", "name", "vb")
    peer = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    try:
        await run(peer.pid)
    finally:
        peer.kill()  # our own child, by its pid
        peer.wait()


def enter(path: str) -> None:
    """setns(2) into the network namespace at ``path`` (this process's sockets keep theirs)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "setns")
    finally:
        os.close(fd)


async def run(peer: int) -> None:
    own = f"/proc/{os.getpid()}/ns/net"
    while os.readlink(f"/proc/{peer}/ns/net") == os.readlink(own):  # until unshare is done
        time.sleep(0.01)
    sh("ip", "link", "set", "vb", "netns", str(peer))
    sh("ip", "addr", "add", f"{A4}/24", "dev", "va")
    sh("ip", "link", "set", "va", "up")
    keep = os.open(own, os.O_RDONLY)  # our netns, to come back to
    enter(f"/proc/{peer}/ns/net")
    for path in ("all", "default", "vb"):
        Path(f"/proc/sys/net/ipv6/conf/{path}/accept_dad").write_text("0")  # the peer netns only
    sh("ip", "addr", "add", f"{B4}/24", "dev", "vb")
    sh("ip", "link", "set", "vb", "up")
    await asyncio.sleep(0.2)
    idx_b = socket.if_nametoindex("vb")
    sb, s6b = VrrpSocket("vb", idx_b, 4), VrrpSocket("vb", idx_b, 6)
    enter(f"/proc/self/fd/{keep}")
    os.close(keep)
    idx = {"va": socket.if_nametoindex("va")}
    adv = Advertisement(version=3, vrid=9, priority=100, advert_interval=100, addresses=(IPv4Address("192.0.2.9"),))
    out: dict = {}

    sa = VrrpSocket("va", idx["va"], 4)
    got = Collect()
    sa.join(), sb.join()
    sb.subscribe(9, got)
    sa.subscribe(8, Collect())  # a reader on the sender: must not see its own multicast
    sa.send(adv, A4, G4)  # multicast, TTL 255
    sa.send(adv, A4, B4)  # unicast
    farewell = sa.prepare(replace(adv, priority=0), A4, G4)  # encoded once, sent twice (resign)
    sa.send_prepared(farewell)
    sa.send_prepared(farewell)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"va")
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    raw.sendto(encode_ipv4_packet(adv, A4, G4, ttl=64), (str(G4), 0))  # must be dropped: ttl
    raw.sendto(encode_ipv4_packet(adv, A4, B4, ttl=64), (str(B4), 0))  # unicast: TTL not checked
    bad = bytearray(encode_ipv4_packet(adv, A4, G4))
    bad[-1] ^= 0xFF
    raw.sendto(bytes(bad), (str(G4), 0))  # checksum
    await asyncio.sleep(0.3)
    out["v4"] = {"adverts": got.adverts, "ages": got.ages, "drops": got.drops, "socket_drops": {k.value: v for k, v in sa.drops.items()}}

    la = link_local("va")
    adv6 = Advertisement(version=3, vrid=9, priority=100, advert_interval=100, addresses=(IPv6Address("2001:db8::9"),))
    s6a = VrrpSocket("va", idx["va"], 6)
    got6 = Collect()
    s6a.join(), s6b.join()
    s6b.subscribe(9, got6)
    s6a.send(adv6, la, G6)
    s6a.send_prepared(s6a.prepare(replace(adv6, priority=0), la, G6))
    raw6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 112)
    raw6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 64)
    raw6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx["va"])
    raw6.bind((str(la), 0, 0, idx["va"]))
    raw6.sendto(encode(adv6, la, G6), (str(G6), 0, 0, idx["va"]))  # hop limit 64: ttl drop
    await asyncio.sleep(0.3)
    out["v6"] = {"adverts": got6.adverts, "ages": got6.ages, "drops": got6.drops, "src": str(la)}
    for s in (sa, sb, s6a, s6b):
        s.close()
    print(json.dumps(out))


asyncio.run(main())
