"""The kernel's IPVS connection sync daemon, over generic netlink (family "IPVS").

keepalived's ``lvs_sync_daemon`` (its ipvs_syncd_master/backup): while the
named VRRP instance is MASTER the kernel runs a *master* sync daemon that
multicasts the balancer's connection table on IFACE; otherwise a *backup*
daemon that fills this kernel's table from a peer's, so the connections
survive a failover. Starting one state first stops the other. The codec
(IPVS_CMD_NEW_DAEMON / IPVS_CMD_DEL_DAEMON with the IPVS_DAEMON_ATTR_*
attributes of linux/ip_vs.h) is pure; ``Netlink`` sends it.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
import struct
from dataclasses import dataclass

from .rtnl import (
    NLM_F_ACK,
    NLM_F_REQUEST,
    NLMSG_ERROR,
    NLMSG_ERROR_CODE,
    NLMSG_HEADER,
    attributes,
    encode_attr,
    encode_message,
    messages,
)

log = logging.getLogger("pykeepalived.vrrp")

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 3, 1, 2
NLA_F_NESTED = 0x8000
IPVS_GENL_NAME, IPVS_GENL_VERSION = "IPVS", 1
REPLY_TIMEOUT = 10.0  # s: the kernel answers within the send; never reached unless it is wedged
FAMILY_SEQ = 1  # the family lookup's sequence number: a socket's first request
IPVS_CMD_NEW_DAEMON, IPVS_CMD_DEL_DAEMON = 9, 10
IPVS_CMD_ATTR_DAEMON = 3
(DAEMON_STATE, DAEMON_MCAST_IFN, DAEMON_SYNC_ID, DAEMON_SYNC_MAXLEN, DAEMON_MCAST_GROUP,
 DAEMON_MCAST_GROUP6, DAEMON_MCAST_PORT, DAEMON_MCAST_TTL) = range(1, 9)
MASTER, BACKUP = 1, 2  # IP_VS_STATE_MASTER / IP_VS_STATE_BACKUP


@dataclass(frozen=True)
class DaemonSpec:
    interface: str
    sync_id: int
    maxlen: int | None = None
    port: int | None = None
    ttl: int | None = None
    group: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None


GENLMSG = struct.Struct("=BBH")  # cmd, version, reserved (linux/genetlink.h genlmsghdr)


def _genl_message(family: int, cmd: int, attrs: bytes, seq: int, version: int = IPVS_GENL_VERSION) -> bytes:
    return encode_message(family, NLM_F_REQUEST | NLM_F_ACK, GENLMSG.pack(cmd, version, 0) + attrs, seq)


def encode_start(family: int, state: int, spec: DaemonSpec, seq: int = 1) -> bytes:
    """IPVS_CMD_NEW_DAEMON: state, interface, sync id and the optional multicast settings."""
    inner = (encode_attr(DAEMON_STATE, struct.pack("=I", state))
             + encode_attr(DAEMON_MCAST_IFN, spec.interface.encode() + b"\0")
             + encode_attr(DAEMON_SYNC_ID, struct.pack("=I", spec.sync_id)))
    if spec.maxlen is not None:
        inner += encode_attr(DAEMON_SYNC_MAXLEN, struct.pack("=H", spec.maxlen))
    if spec.group is not None:
        kind = DAEMON_MCAST_GROUP if spec.group.version == 4 else DAEMON_MCAST_GROUP6
        inner += encode_attr(kind, spec.group.packed)
    if spec.port is not None:
        inner += encode_attr(DAEMON_MCAST_PORT, struct.pack("=H", spec.port))
    if spec.ttl is not None:
        inner += encode_attr(DAEMON_MCAST_TTL, struct.pack("=B", spec.ttl))
    return _genl_message(family, IPVS_CMD_NEW_DAEMON, encode_attr(IPVS_CMD_ATTR_DAEMON | NLA_F_NESTED, inner), seq)


def encode_stop(family: int, state: int, seq: int = 1) -> bytes:
    inner = encode_attr(DAEMON_STATE, struct.pack("=I", state))
    return _genl_message(family, IPVS_CMD_DEL_DAEMON, encode_attr(IPVS_CMD_ATTR_DAEMON | NLA_F_NESTED, inner), seq)


def encode_family_query(name: str = IPVS_GENL_NAME, seq: int = 1) -> bytes:
    """CTRL_CMD_GETFAMILY without NLM_F_ACK: the answer is the family, or an error, alone (with
    an ack asked for, the ack stayed queued and was read as the answer to the next request)."""
    attrs = encode_attr(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0")
    return encode_message(GENL_ID_CTRL, NLM_F_REQUEST, GENLMSG.pack(CTRL_CMD_GETFAMILY, 1, 0) + attrs, seq)


def decode_error(reply: bytes) -> int | None:
    """The errno of an NLMSG_ERROR reply (0: ack), None when the reply is something else."""
    if len(reply) < NLMSG_HEADER.size + NLMSG_ERROR_CODE.size:
        return None
    if NLMSG_HEADER.unpack_from(reply)[1] != NLMSG_ERROR:
        return None
    return -NLMSG_ERROR_CODE.unpack_from(reply, NLMSG_HEADER.size)[0]


def decode_family_id(reply: bytes) -> int | None:
    """CTRL_ATTR_FAMILY_ID from a CTRL_CMD_GETFAMILY answer."""
    for _kind, _seq, body in messages(reply):
        found = attributes(body, GENLMSG.size).get(CTRL_ATTR_FAMILY_ID)
        return struct.unpack_from("=H", found)[0] if found and len(found) >= 2 else None
    return None


def ipvs_socket() -> tuple[socket.socket, int]:
    """A bound generic netlink socket and the IPVS family's id on it (OSError, the socket closed,
    when the kernel has no IPVS).  The lookup asks for no ack: its answer comes alone."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_GENERIC)
    try:
        sock.bind((0, 0))
        sock.settimeout(REPLY_TIMEOUT)
        sock.send(encode_family_query(seq=FAMILY_SEQ))
        reply = sock.recv(65536)
        family = decode_family_id(reply)
        if family is None:
            code = decode_error(reply)
            raise OSError(errno.ENOENT, os.strerror(code) if code else
                          "no IPVS generic netlink family (ip_vs not loaded?)")
        return sock, family
    except BaseException:
        sock.close()
        raise


class Netlink:
    """One generic netlink socket to the kernel's IPVS family (OSError when the kernel has none)."""

    def __init__(self) -> None:
        self.sock, self.family = ipvs_socket()
        self.seq = FAMILY_SEQ

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _talk(self, message: bytes, seq: int) -> bytes:
        """The kernel's answer to ``message`` (sequence ``seq``); anything older is skipped."""
        self.sock.send(message)
        while True:
            reply = self.sock.recv(65536)
            if len(reply) >= NLMSG_HEADER.size and NLMSG_HEADER.unpack_from(reply)[3] == seq:
                return reply

    def request(self, message: bytes, seq: int) -> int:
        """Send one command; its errno (0: done)."""
        code = decode_error(self._talk(message, seq))
        return 0 if code is None else code

    def start(self, state: int, spec: DaemonSpec) -> int:
        seq = self._next()
        return self.request(encode_start(self.family, state, spec, seq), seq)

    def stop(self, state: int) -> int:
        seq = self._next()
        return self.request(encode_stop(self.family, state, seq), seq)

    def close(self) -> None:
        self.sock.close()


class SyncDaemonControl:
    """Follows one VRRP instance's state: master daemon while MASTER, backup otherwise, none once stopped."""

    def __init__(self, instance: str, spec: DaemonSpec, netlink_factory=Netlink) -> None:
        self.instance, self.spec = instance, spec
        self._factory = netlink_factory
        self._nl: Netlink | None = None
        self.running: int | None = None  # MASTER | BACKUP | None

    def follow(self, name: str, state: str) -> None:
        if name != self.instance:
            return
        want = None if state == "STOP" else MASTER if state == "MASTER" else BACKUP
        if want == self.running:
            return
        nl = self._netlink()
        if nl is None:
            return
        if self.running is not None or want is not None:  # keepalived: stop the other role first
            other = self.running if self.running is not None else (BACKUP if want == MASTER else MASTER)
            code = nl.stop(other)
            if code not in (0, errno.ESRCH):
                log.error("IPVS sync daemon: stopping the %s daemon: %s", _name(other), os.strerror(code))
        self.running = None
        if want is None:
            return
        code = nl.start(want, self.spec)
        if code == errno.EEXIST:  # one left by a predecessor: ours replaces it
            nl.stop(want)
            code = nl.start(want, self.spec)
        if code:
            log.error("IPVS sync daemon: starting the %s daemon on %s (syncid %d): %s", _name(want),
                      self.spec.interface, self.spec.sync_id, os.strerror(code))
            return
        self.running = want
        log.info("IPVS sync daemon: %s on %s, syncid %d (%s is %s)", _name(want), self.spec.interface,
                 self.spec.sync_id, name, state)

    def _netlink(self) -> Netlink | None:
        if self._nl is None:
            try:
                self._nl = self._factory()
            except OSError as err:
                log.error("IPVS sync daemon for %s: %s", self.instance, err.strerror or err)
                return None
        return self._nl


def _name(state: int) -> str:
    return "master" if state == MASTER else "backup"


def sync_daemon_control(config) -> SyncDaemonControl | None:
    """The controller for ``global_defs { lvs_sync_daemon ... }``, None without one."""
    cfg = None if config is None else config.global_defs.lvs_sync_daemon
    if cfg is None or cfg.instance not in config.vrrp_instances:
        return None
    sync_id = cfg.sync_id if cfg.sync_id is not None else config.vrrp_instances[cfg.instance].virtual_router_id
    return SyncDaemonControl(cfg.instance, DaemonSpec(cfg.interface, sync_id, cfg.maxlen, cfg.port, cfg.ttl,
                                                      cfg.group))
