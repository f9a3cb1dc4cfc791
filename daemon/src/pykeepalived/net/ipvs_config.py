"""IPVS' connection timeouts (``ipvsadm --set``), over generic netlink: keepalived's
``lvs_timeouts [tcp SECS] [tcpfin SECS] [udp SECS]``.

IPVS_CMD_SET_CONFIG / IPVS_CMD_GET_CONFIG with IPVS_CMD_ATTR_TIMEOUT_TCP, _TCP_FIN and _UDP
(linux/ip_vs.h): the established-TCP, FIN_WAIT and UDP timeouts of the whole namespace.
keepalived's way, kept here: the kernel's values are read before the first change; each
change sends all three, the configured ones or those first values, so a value dropped from
the config (or the keyword itself, on a reload) goes back to what the kernel had.
The codec is pure; ``TimeoutControl`` talks to the kernel.
"""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass

from .ipvs_syncd import GENLMSG, IPVS_GENL_VERSION, Netlink, _genl_message
from .rtnl import NLM_F_REQUEST, NLMSG_ERROR, NLMSG_ERROR_CODE, attributes, encode_attr, encode_message, messages

log = logging.getLogger("pykeepalived.lb")

IPVS_CMD_SET_CONFIG, IPVS_CMD_GET_CONFIG = 12, 13
ATTR_TCP, ATTR_TCP_FIN, ATTR_UDP = 4, 5, 6  # IPVS_CMD_ATTR_TIMEOUT_*
MAX_TIMEOUT = 86400 * 31  # keepalived's LVS_MAX_TIMEOUT


@dataclass(frozen=True)
class Timeouts:
    """Seconds; None: not configured (keep the kernel's first value)."""

    tcp: int | None = None
    tcpfin: int | None = None
    udp: int | None = None

    def over(self, base: Timeouts) -> Timeouts:
        """These, with ``base``'s where unset."""
        return Timeouts(*(mine if mine is not None else theirs
                          for mine, theirs in zip((self.tcp, self.tcpfin, self.udp), (base.tcp, base.tcpfin, base.udp))))


def encode_set(family: int, t: Timeouts, seq: int = 1) -> bytes:
    attrs = b"".join(encode_attr(kind, struct.pack("=I", value))
                     for kind, value in ((ATTR_TCP, t.tcp), (ATTR_TCP_FIN, t.tcpfin), (ATTR_UDP, t.udp))
                     if value is not None)
    return _genl_message(family, IPVS_CMD_SET_CONFIG, attrs, seq)


def encode_get(family: int, seq: int = 1) -> bytes:
    """A request without NLM_F_ACK: the answer is the one message."""
    return encode_message(family, NLM_F_REQUEST, GENLMSG.pack(IPVS_CMD_GET_CONFIG, IPVS_GENL_VERSION, 0), seq)


def decode_config(body: bytes) -> Timeouts | None:
    """The timeouts in an IPVS_CMD_GET_CONFIG answer's body (after its nlmsghdr)."""
    found = attributes(body, GENLMSG.size)
    values = [struct.unpack_from("=I", found[a])[0] if len(found.get(a, b"")) >= 4 else None
              for a in (ATTR_TCP, ATTR_TCP_FIN, ATTR_UDP)]
    return Timeouts(*values) if None not in values else None


def answer(nl: Netlink, message: bytes, seq: int) -> tuple[int, bytes]:
    """Send ``message``; (type, body) of the kernel's answer to ``seq``. Earlier answers still
    queued on the socket (the family query's acknowledgement) are skipped."""
    nl.sock.send(message)
    while True:
        for kind, got, body in messages(nl.sock.recv(65536)):
            if got == seq:
                return kind, body


class TimeoutControl:
    """Sets the namespace's IPVS timeouts from ``lvs_timeouts`` (None: the kernel's first values)."""

    def __init__(self, netlink_factory=Netlink) -> None:
        self._factory = netlink_factory
        self.original: Timeouts | None = None  # the kernel's, read before our first change

    def read(self) -> Timeouts | None:
        nl = self._factory()
        try:
            seq = nl._next()
            kind, body = answer(nl, encode_get(nl.family, seq), seq)
            return decode_config(body) if kind == nl.family else None
        finally:
            nl.close()

    def apply(self, wanted: Timeouts | None) -> str | None:
        """Set ``wanted`` over the kernel's first values; None, or why it failed."""
        if wanted is None and self.original is None:
            return None  # never changed: nothing to put back
        try:
            if self.original is None:
                self.original = self.read()
                if self.original is None:
                    return "the kernel did not report its IPVS timeouts"
            target = (wanted or Timeouts()).over(self.original)
            nl = self._factory()
            try:
                seq = nl._next()
                kind, body = answer(nl, encode_set(nl.family, target, seq), seq)
            finally:
                nl.close()
            code = -NLMSG_ERROR_CODE.unpack_from(body)[0] if kind == NLMSG_ERROR else 0
        except OSError as err:
            return err.strerror or str(err)
        if code:
            return os.strerror(code)
        log.info("IPVS timeouts: tcp %d s, tcpfin %d s, udp %d s", target.tcp, target.tcpfin, target.udp)
        return None
