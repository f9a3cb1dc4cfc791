"""lvs_sync_daemon: the generic netlink codec and the state follower (net/ipvs_syncd.py), and its keyword.

The kernel side is proven in UML: tests/integration/lb_syncd (two balancers, a failover, the
backup's connection table and a connection that survives).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import shutil
import socket
import struct
import subprocess

import pytest

from pykeepalived.config.loader import load_config, loads_config
from pykeepalived.config.render import render
from pykeepalived.net import ipvs_syncd as sd

KEEPALIVED = "/usr/sbin/keepalived"
SPEC = sd.DaemonSpec("eth1", 51, maxlen=1400, port=8849, ttl=2, group=ipaddress.ip_address("224.0.0.82"))


def attrs(data: bytes) -> dict[int, bytes]:
    out, pos = {}, 0
    while pos + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, pos)
        out[kind & 0x3FFF] = data[pos + 4:pos + length]
        pos += (length + 3) & ~3
    return out


def test_start_message_layout() -> None:
    msg = sd.encode_start(0x1A, sd.MASTER, SPEC, seq=7)
    length, family, flags, seq, _pid = struct.unpack_from("=IHHII", msg)
    assert (length, family, flags, seq) == (len(msg), 0x1A, sd.NLM_F_REQUEST | sd.NLM_F_ACK, 7)
    assert msg[16:20] == bytes([sd.IPVS_CMD_NEW_DAEMON, 1, 0, 0])
    outer = attrs(msg[20:])
    assert list(outer) == [sd.IPVS_CMD_ATTR_DAEMON]
    inner = attrs(outer[sd.IPVS_CMD_ATTR_DAEMON])
    assert struct.unpack("=I", inner[sd.DAEMON_STATE]) == (sd.MASTER,)
    assert inner[sd.DAEMON_MCAST_IFN] == b"eth1\0"
    assert struct.unpack("=I", inner[sd.DAEMON_SYNC_ID]) == (51,)
    assert struct.unpack("=H", inner[sd.DAEMON_SYNC_MAXLEN]) == (1400,)
    assert struct.unpack("=H", inner[sd.DAEMON_MCAST_PORT]) == (8849,)
    assert inner[sd.DAEMON_MCAST_TTL] == b"\x02"
    assert inner[sd.DAEMON_MCAST_GROUP] == bytes([224, 0, 0, 82])  # network order, as in_addr


def test_minimal_start_and_stop() -> None:
    inner = attrs(attrs(sd.encode_start(5, sd.BACKUP, sd.DaemonSpec("eth0", 3))[20:])[sd.IPVS_CMD_ATTR_DAEMON])
    assert sorted(inner) == [sd.DAEMON_STATE, sd.DAEMON_MCAST_IFN, sd.DAEMON_SYNC_ID]
    stop = sd.encode_stop(5, sd.BACKUP)
    assert stop[16] == sd.IPVS_CMD_DEL_DAEMON
    assert attrs(attrs(stop[20:])[sd.IPVS_CMD_ATTR_DAEMON]) == {sd.DAEMON_STATE: struct.pack("=I", sd.BACKUP)}


def test_replies() -> None:
    ack = struct.pack("=IHHII", 36, sd.NLMSG_ERROR, 0, 1, 0) + struct.pack("=i", -errno.EEXIST) + b"\0" * 16
    assert sd.decode_error(ack) == errno.EEXIST
    family = (struct.pack("=IHHII", 32, 0x10, 0, 1, 0) + bytes([1, 2, 0, 0])
              + struct.pack("=HH", 9, sd.CTRL_ATTR_FAMILY_NAME) + b"IPVS\0\0\0\0"
              + struct.pack("=HHH", 6, sd.CTRL_ATTR_FAMILY_ID, 0x1B) + b"\0\0")
    family = struct.pack("=I", len(family)) + family[4:]
    assert sd.decode_family_id(family) == 0x1B and sd.decode_error(family) is None


class Recorder:
    """Stands in for the kernel's answers only (the kernel itself runs in the UML test)."""

    def __init__(self, answers: dict | None = None) -> None:
        self.calls: list[tuple] = []
        self.answers = answers or {}

    def start(self, state, spec):
        self.calls.append(("start", state))
        return self.answers.pop(("start", state), 0)

    def stop(self, state):
        self.calls.append(("stop", state))
        return errno.ESRCH


def test_follows_the_instance_as_keepalived() -> None:
    nl = Recorder()
    ctl = sd.SyncDaemonControl("VI_1", sd.DaemonSpec("eth1", 51), lambda: nl)
    ctl.follow("VI_2", "MASTER")  # another instance: nothing
    ctl.follow("VI_1", "BACKUP")
    ctl.follow("VI_1", "FAULT")  # still a backup: nothing to do
    ctl.follow("VI_1", "MASTER")
    ctl.follow("VI_1", "STOP")
    assert nl.calls == [("stop", sd.MASTER), ("start", sd.BACKUP), ("stop", sd.BACKUP), ("start", sd.MASTER),
                        ("stop", sd.MASTER)]
    assert ctl.running is None


def test_a_daemon_left_by_a_predecessor_is_replaced() -> None:
    nl = Recorder({("start", sd.BACKUP): errno.EEXIST})
    ctl = sd.SyncDaemonControl("VI_1", sd.DaemonSpec("eth1", 51), lambda: nl)
    ctl.follow("VI_1", "BACKUP")
    assert nl.calls[-3:] == [("start", sd.BACKUP), ("stop", sd.BACKUP), ("start", sd.BACKUP)]
    assert ctl.running == sd.BACKUP


def test_no_ipvs_is_logged_not_raised(caplog) -> None:
    def none():
        raise OSError(errno.ENOENT, "no IPVS generic netlink family")

    ctl = sd.SyncDaemonControl("VI_1", sd.DaemonSpec("eth1", 51), none)
    ctl.follow("VI_1", "MASTER")
    assert ctl.running is None and "no IPVS" in caplog.text


INSTANCE = """vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.80/24
    }
}
"""


def test_keyword_forms_and_sync_id_default() -> None:
    cfg, diags = loads_config("global_defs {\n    lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8849 ttl 2 "
                              "group 224.0.0.82\n}\n" + INSTANCE)
    assert not diags.errors, [str(d) for d in diags.errors]
    s = cfg.global_defs.lvs_sync_daemon
    assert (s.interface, s.instance, s.sync_id, s.maxlen, s.port, s.ttl, str(s.group)) == \
        ("eth1", "VI_1", 7, 1400, 8849, 2, "224.0.0.82")
    assert "lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8849 ttl 2 group 224.0.0.82" in render(cfg)
    plain, _ = loads_config("global_defs {\n    lvs_sync_daemon eth1 inst VI_1\n}\n" + INSTANCE)
    control = sd.sync_daemon_control(plain)
    assert control is not None and control.spec == sd.DaemonSpec("eth1", 51)  # the VRID


def test_keyword_errors_are_located() -> None:
    cases = {
        "lvs_sync_daemon eth1 VI_9": "k.conf:2:5: error: lvs_sync_daemon: 'VI_9' is not a defined vrrp_instance",
        "lvs_sync_daemon eth1 VI_1 ttl 0": "k.conf:2:35: error: lvs_sync_daemon: ttl 0 out of range 1..255",
        "lvs_sync_daemon eth1 VI_1 group 192.0.2.1":
            "k.conf:2:37: error: lvs_sync_daemon: group 192.0.2.1 is not a multicast address",
        "lvs_sync_daemon eth1": "k.conf:2:5: error: lvs_sync_daemon: lvs_sync_daemon needs the vrrp_instance",
        "lvs_sync_daemon eth1 VI_1 9": "k.conf:2:31: error: lvs_sync_daemon: write the sync id as 'id 9'",
        "lvs_sync_daemon abcdefghijklmnop VI_1":
            "k.conf:2:21: error: lvs_sync_daemon: interface name 'abcdefghijklmnop' longer than 15",
    }
    for line, want in cases.items():
        _, diags = loads_config(f"global_defs {{\n    {line}\n}}\n" + INSTANCE, "k.conf")
        assert len(diags.errors) == 1 and str(diags.errors[0]).startswith(want), (line, [str(d) for d in diags.errors])


# The same verdict as keepalived 2.2.7's -t (an undefined INSTANCE is the one place we are stricter).
VERDICTS = {
    "lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8849 ttl 2 group 224.0.0.82": True,
    "lvs_sync_daemon eth1 inst VI_1": True,
    "lvs_sync_daemon eth1 VI_1 ttl 0": False,
    "lvs_sync_daemon eth1 VI_1 group 192.0.2.1": False,
    "lvs_sync_daemon eth1 VI_1 9": False,
}


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare") or not os.access(KEEPALIVED, os.X_OK),
                    reason="keepalived -t needs root, unshare(1) and Debian's keepalived")
@pytest.mark.parametrize("line", sorted(VERDICTS))
def test_same_verdict_as_keepalived(line: str, tmp_path) -> None:
    path = tmp_path / "k.conf"
    path.write_text(f"global_defs {{\n    {line}\n}}\n" + INSTANCE.replace("    interface eth0\n",
                                                                        "    interface eth0\n    priority 100\n"))
    links = "ip link add eth0 type veth peer name p0 && ip link add eth1 type veth peer name p1 || exit 90"
    proc = subprocess.run(["unshare", "--net", "sh", "-c", f'{links}; exec {KEEPALIVED} -t -l -n -f "$0"', str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 90, proc.stderr
    assert (proc.returncode == 0) == VERDICTS[line], proc.stdout
    _, diags = load_config(str(path))
    assert (not diags.errors) == VERDICTS[line], [str(d) for d in diags.errors]


def test_family_query_is_answered_once_by_the_kernel() -> None:
    """The lookup asks for no ack: the kernel's answer is the family alone, nothing stays queued
    to be read as the answer to the next request (a start's error was reported one request late).
    Asked of the kernel for "nlctrl", the family every kernel has."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, sd.NETLINK_GENERIC) as sock:
        sock.bind((0, 0))
        sock.send(sd.encode_family_query("nlctrl", seq=3))
        reply = sock.recv(65536)
        assert sd.decode_family_id(reply) == sd.GENL_ID_CTRL
        assert struct.unpack_from("=IHHII", reply)[3] == 3
        sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            sock.recv(65536)
