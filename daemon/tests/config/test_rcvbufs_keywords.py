"""global_defs' socket receive buffer keywords (keywords/rcvbufs.py): values, located errors,
the round trip, and keepalived 2.2.7's -t on the same lines (the sockets: net/test_rcvbufs.py)."""
from __future__ import annotations

import subprocess

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.config.render import render

from .test_keepalived_samples import KEEPALIVED, can_run_keepalived

ALL = """    vrrp_netlink_cmd_rcv_bufs 1048576
    vrrp_netlink_cmd_rcv_bufs_force
    vrrp_netlink_monitor_rcv_bufs 262144
    vrrp_netlink_monitor_rcv_bufs_force off
    process_monitor_rcv_bufs_force yes
    vrrp_rx_bufs_policy mtu
    vrrp_rx_bufs_multiplier 4
"""


def parsed(lines: str):
    return loads_config("global_defs {\n" + lines + "}\n", "k.conf")


def test_values_and_the_socket_settings() -> None:
    config, diags = parsed(ALL)
    g = config.global_defs
    assert not diags.errors
    assert g.rcv_bufs("vrrp_netlink_cmd") == (1048576, True)
    assert g.rcv_bufs("vrrp_netlink_monitor") == (262144, False)
    assert g.rcv_bufs("process_monitor") == (65536, True)  # a bare _force: keepalived's 64 KiB
    assert (g.vrrp_rx_bufs_policy, g.vrrp_rx_bufs_multiplier) == ("MTU", 4)
    again, diags2 = loads_config(render(config), "rendered.conf")
    assert not diags2.errors and again == config


def test_nothing_given_leaves_the_sockets_alone() -> None:
    g = parsed("    vrrp_netlink_cmd_rcv_bufs 0\n")[0].global_defs  # 0: the default, as keepalived
    assert g.rcv_bufs("vrrp_netlink_cmd") is None and g.vrrp_rx_bufs_policy is None
    assert parsed("    vrrp_rx_bufs_policy 70000\n")[0].global_defs.vrrp_rx_bufs_policy == 70000


@pytest.mark.parametrize(("lines", "error"), [
    ("vrrp_netlink_cmd_rcv_bufs", "k.conf:2:5: error: 'vrrp_netlink_cmd_rcv_bufs' needs 1 argument, got 0"),
    ("vrrp_netlink_cmd_rcv_bufs -1", "k.conf:2:31: error: vrrp_netlink_cmd_rcv_bufs: -1 out of range "
     "0-2147483647"),
    ("process_monitor_rcv_bufs 1M", "k.conf:2:30: error: process_monitor_rcv_bufs: expected a number of bytes, "
     "got '1M'"),
    ("vrrp_netlink_monitor_rcv_bufs_force maybe", "k.conf:2:41: error: vrrp_netlink_monitor_rcv_bufs_force: "
     "expected on|off|true|false|yes|no, got 'maybe'"),
    ("vrrp_rx_bufs_policy MTU ADVERT", "k.conf:2:29: error: vrrp_rx_bufs_policy: takes one of MTU, ADVERT or a "
     "size in bytes (keepalived ignores all but one)"),
    ("vrrp_rx_bufs_policy big", "k.conf:2:25: error: vrrp_rx_bufs_policy: expected MTU, ADVERT or a size in "
     "bytes, got 'big'"),
    ("vrrp_rx_bufs_multiplier 0", "k.conf:2:5: error: vrrp_rx_bufs_multiplier: value must be at least 1 "
     "(got 0)"),
])
def test_errors_say_where(lines: str, error: str) -> None:
    assert [str(e) for e in parsed(f"    {lines}\n")[1].errors] == [error]


def test_checker_netlink_knobs_are_accepted_with_a_warning() -> None:
    config, diags = parsed("    lvs_netlink_cmd_rcv_bufs 1048576\n    lvs_netlink_monitor_rcv_bufs_force\n")
    assert not diags.errors
    warned = [str(w) for w in diags.warnings if "rtnetlink" in str(w)]
    assert [w.split(": warning:")[0] for w in warned] == ["k.conf:2:5", "k.conf:3:5"]
    assert "lvs_netlink_cmd_rcv_bufs: pykeepalived's checker child has no rtnetlink socket" in warned[0]
    assert [str(e) for e in parsed("    lvs_netlink_cmd_rcv_bufs x\n")[1].errors] == [
        "k.conf:2:30: error: lvs_netlink_cmd_rcv_bufs: expected a number of bytes, got 'x'"]


@can_run_keepalived
def test_keepalived_accepts_the_same_lines(tmp_path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("global_defs {\n" + ALL + "    lvs_netlink_cmd_rcv_bufs 1048576\n}\n"
                    "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n"
                    "    virtual_ipaddress {\n        192.0.2.1/24\n    }\n}\n")
    proc = subprocess.run(["unshare", "--net", "sh", "-c",
                           f'ip link add eth0 type veth peer name kspeer0 || exit 90; exec {KEEPALIVED} -t -l -n -f "$0"',
                           str(conf)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ours, diags = loads_config(conf.read_text(), str(conf))
    assert not diags.errors and ours.global_defs.vrrp_rx_bufs_multiplier == 4
