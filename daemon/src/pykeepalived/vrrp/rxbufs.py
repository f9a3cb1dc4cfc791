"""global_defs ``vrrp_rx_bufs_policy`` / ``vrrp_rx_bufs_multiplier``: the VRRP sockets' receive
buffers, as keepalived sizes them (vrrp_scheduler.c, 2.2.7).

A socket's size is the sum over the instances it carries of: BYTES (policy a size),
multiplier x the instance's advert length, IPv4 header included (ADVERT), or multiplier x
its interface's MTU (MTU); set with SO_RCVBUF, so net.core.rmem_max caps it.  Without a
policy our sockets keep 4 MiB with SO_RCVBUFFORCE (vrrp/transport.py), where keepalived
leaves the kernel's default (~208 KiB).  ``socket_size`` is pure; the ``size_*`` functions
apply it and the netlink knobs (config/keywords/rcvbufs.py).
"""
from __future__ import annotations

import fcntl
import socket
import struct
from collections.abc import Iterable

from ..config.model_vrrp import GlobalDefs
from ..net import rcvbuf, rtnl
from .transport import RCVBUF

VRRP_HEADER = 8
V2_AUTH = 8
IPV4_HEADER = 20


def advert_length(family: int, version: int, n_addresses: int) -> int:
    """keepalived's vrrp_adv_len: the VRRP message, plus the IPv4 header it reads with it."""
    if family == 4:
        return IPV4_HEADER + VRRP_HEADER + (V2_AUTH if version == 2 else 0) + 4 * n_addresses
    return VRRP_HEADER + 16 * n_addresses


def socket_size(policy: str | int | None, multiplier: int, instances: list[tuple[int, int]]) -> int | None:
    """Bytes for one socket; ``instances``: (advert length, MTU) of each. None: no policy."""
    if policy is None or not instances:
        return None
    if isinstance(policy, int):
        return policy * len(instances)
    return sum(multiplier * (adv if policy == "ADVERT" else mtu) for adv, mtu in instances)


# -- applying them (the VRRP manager, at start and on each reload) -----------

SIOCGIFMTU = 0x8921  # linux/sockios.h


def interface_mtu(sock: socket.socket, ifname: str) -> int:
    """The MTU of ``ifname`` in the socket's network namespace."""
    got = fcntl.ioctl(sock.fileno(), SIOCGIFMTU, struct.pack("16si", ifname.encode(), 0))
    return struct.unpack_from("16si", got)[1]


def size_vrrp_sockets(instances: Iterable, g: GlobalDefs) -> dict[str, int]:
    """Apply the policy to every open VRRP socket; {socket: bytes asked} (logged). Without one,
    our 4 MiB again (a reload may have dropped the policy)."""
    per_socket: dict[int, tuple[object, list[tuple[int, int]]]] = {}
    for inst in instances:
        if inst.sock is None or inst.router is None:
            continue
        cfg = inst.router.config
        entry = (advert_length(inst.spec.family, cfg.version, len(cfg.virtual_addresses)),
                 interface_mtu(inst.sock.sock, inst.sock.ifname) if g.vrrp_rx_bufs_policy == "MTU" else 0)
        per_socket.setdefault(id(inst.sock), (inst.sock, []))[1].append(entry)
    asked = {}
    for vsock, entries in per_socket.values():
        size = socket_size(g.vrrp_rx_bufs_policy, g.vrrp_rx_bufs_multiplier, entries)
        if size is None:
            rcvbuf.set_rcvbuf(vsock.sock, RCVBUF, True, f"VRRP socket {vsock.ifname}")
        else:
            rcvbuf.set_rcvbuf(vsock.sock, size, False, f"VRRP socket {vsock.ifname}")
            asked[f"{vsock.ifname}/ipv{vsock.family}"] = size
    return asked


def size_netlink_sockets(g: GlobalDefs, links, processes) -> None:
    """keepalived's VRRP-process netlink knobs: the command sockets (net/rtnl.py), the link
    monitor (net/links.py) and the process-event connector (vrrp/process_watch.py)."""
    rtnl.AddressSocket.configure(g.rcv_bufs("vrrp_netlink_cmd"))
    links.set_rcv_bufs(g.rcv_bufs("vrrp_netlink_monitor"))
    processes.set_rcv_bufs(g.rcv_bufs("process_monitor"))
