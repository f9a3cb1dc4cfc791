"""global_defs' receive buffer knobs on real sockets: what getsockopt(SO_RCVBUF) reads back.

The kernel doubles the bytes asked (its bookkeeping, socket(7)); SO_RCVBUF is capped by
net.core.rmem_max, SO_RCVBUFFORCE (``_force``) is not.
"""
from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pykeepalived.config.model_track_process import TrackProcess
from pykeepalived.net.rcvbuf import set_rcvbuf
from pykeepalived.vrrp.process_watch import ProcessTracker, ProcessView, open_connector
from pykeepalived.vrrp.rxbufs import advert_length, socket_size

from .netns_probe import needs_netns


def test_advert_length_is_keepalived_vrrp_adv_len() -> None:
    # IPv4: 20 (IP header) + 8 (VRRP header) + 8 (v2 auth data) + 4 per address
    assert advert_length(4, 2, 2) == 44
    assert advert_length(4, 3, 2) == 36
    assert advert_length(6, 3, 3) == 8 + 48  # the kernel builds the IPv6 header: not counted


def test_socket_size_sums_its_instances() -> None:
    two = [(44, 1500), (36, 9000)]
    assert socket_size(None, 3, two) is None  # no policy: ours (4 MiB forced)
    assert socket_size("MTU", 3, two) == 3 * 1500 + 3 * 9000
    assert socket_size("ADVERT", 10, two) == 440 + 360
    assert socket_size(5000, 3, two) == 10000  # a size: per instance, the multiplier unused
    assert socket_size("MTU", 3, []) is None


@needs_netns
def test_vrrp_process_sockets_get_the_sizes_asked(tmp_path: Path) -> None:
    out = subprocess.run(["unshare", "--net", sys.executable, str(Path(__file__).with_name("rcvbufs_probe.py")),
                          str(tmp_path / "state")], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    kernel_default = got["defaults"]["cmd_new"]
    assert got["defaults"] == {"vrrp": [8 << 20], "cmd_live": [kernel_default], "cmd_new": kernel_default,
                               "monitor": kernel_default}  # ours: VRRP 4 MiB forced; netlink untouched
    assert got["rmem_max"] < 8388608  # so only SO_RCVBUFFORCE can give the 8 MiB below
    # MTU policy, multiplier 2: two instances on d0 (MTU 1400), one IPv4 socket
    assert got["mtu"] == {"vrrp": [2 * 2 * 2 * 1400], "cmd_live": [2 * 8388608], "cmd_new": 2 * 8388608,
                          "monitor": 2 * 100000}
    # ADVERT x 100: 44 bytes each (v2, two VIPs); the command sockets shrink without force, live
    # ones included; a bare _force gives keepalived's 64 KiB
    assert got["advert"] == {"vrrp": [2 * 100 * 2 * 44], "cmd_live": [2 * 300000], "cmd_new": 2 * 300000,
                             "monitor": 2 * 65536}
    assert got["dropped"]["vrrp"] == [8 << 20]


def test_set_rcvbuf_force_goes_past_rmem_max() -> None:
    rmem_max = int(Path("/proc/sys/net/core/rmem_max").read_text())
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        set_rcvbuf(sock, rmem_max + 4096, force=False)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 2 * rmem_max
        set_rcvbuf(sock, rmem_max + 4096, force=True)
        forced = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    assert forced == (2 * (rmem_max + 4096) if os.geteuid() == 0 else 2 * rmem_max)  # not root: refused, logged


@pytest.mark.skipif(os.geteuid() != 0, reason="process events need CAP_NET_ADMIN")
def test_process_monitor_rcv_bufs_size_the_connector() -> None:
    probe = open_connector()
    if probe is None:
        pytest.skip("not in the initial network/PID namespace: no process-event socket to size")
    probe.close()
    view = ProcessView()
    view.set_rcv_bufs((300000, False))  # global_defs process_monitor_rcv_bufs 300000
    tracker = ProcessTracker(TrackProcess(name="p", process=("no-such-process-kw2",)), view)
    got = []

    async def run() -> None:
        tracker.start()
        got.append(view.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
        view.set_rcv_bufs((8388608, True))  # a reload adds _force: the open socket follows
        got.append(view.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
        await tracker.stop()
    asyncio.run(run())
    assert view.mode == "stopped" and got == [600000, 2 * 8388608]
