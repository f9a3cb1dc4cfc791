"""Run inside ``unshare --net`` (root): the receive buffers VrrpManager gives its sockets.

global_defs' ``vrrp_netlink_cmd_rcv_bufs`` / ``vrrp_netlink_monitor_rcv_bufs`` (each
with ``_force`` or not) and ``vrrp_rx_bufs_policy``: a start, then a reload that changes
them; each socket's SO_RCVBUF is read back with getsockopt (the kernel doubles what was
asked).  argv[1]: the state directory.
"""
from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

from pykeepalived.config.loader import loads_config
from pykeepalived.config.model import Config
from pykeepalived.net.rtnl import AddressSocket
from pykeepalived.vrrp.manager import VrrpManager


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def config(global_defs: str) -> Config:
    instances = "".join(f"""vrrp_instance VI_{vrid} {{
    interface d0
    virtual_router_id {vrid}
    priority 100
    advert_int 1
    virtual_ipaddress {{
        192.0.2.{vrid}/24
        192.0.2.{vrid + 100}/24
    }}
    track_interface {{
        d9
    }}
}}
""" for vrid in (51, 52))
    parsed, diags = loads_config(f"global_defs {{\n{global_defs}}}\n{instances}")
    assert not diags.errors, [str(e) for e in diags.errors]
    return parsed


def rcvbuf(sock: socket.socket) -> int:
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def sizes(manager: VrrpManager) -> dict:
    fresh = AddressSocket()
    try:
        return {"vrrp": sorted({rcvbuf(i.sock.sock) for i in manager.instances.values()}),
                "cmd_live": sorted({rcvbuf(s.sock) for s in list(AddressSocket._live) if s is not fresh}),
                "cmd_new": rcvbuf(fresh.sock),
                "monitor": rcvbuf(manager.links._sock)}
    finally:
        fresh.close()


async def main(state_dir: str) -> dict:
    ip("link", "add", "d0", "mtu", "1400", "type", "veth", "peer", "name", "d1")
    ip("link", "add", "d9", "type", "veth", "peer", "name", "d8")
    ip("addr", "add", "192.0.2.11/24", "dev", "d0")
    ip("link", "set", "d0", "up")
    ip("link", "set", "d1", "up")
    out = {"rmem_max": int(Path("/proc/sys/net/core/rmem_max").read_text())}
    plain = config("")
    manager = VrrpManager(plain, state_dir)
    await manager.apply(plain)
    out["defaults"] = sizes(manager)
    first = config("""    vrrp_netlink_cmd_rcv_bufs 8388608
    vrrp_netlink_cmd_rcv_bufs_force
    vrrp_netlink_monitor_rcv_bufs 100000
    vrrp_rx_bufs_policy MTU
    vrrp_rx_bufs_multiplier 2
""")
    await manager.apply(first)  # a reload: the instances change (global_defs is theirs too)
    out["mtu"] = sizes(manager)
    second = config("""    vrrp_netlink_cmd_rcv_bufs 300000
    vrrp_netlink_monitor_rcv_bufs_force
    vrrp_rx_bufs_policy ADVERT
    vrrp_rx_bufs_multiplier 100
""")
    await manager.apply(second)
    out["advert"] = sizes(manager)
    await manager.apply(plain)  # the policy dropped: our default again
    out["dropped"] = sizes(manager)
    await manager.stop()
    return out


if __name__ == "__main__":
    json.dump(asyncio.run(main(sys.argv[1])), sys.stdout)
