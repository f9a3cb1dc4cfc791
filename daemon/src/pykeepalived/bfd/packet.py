"""BFD Control packet codec (RFC 5880 section 4.1), pure.

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
    |                       My Discriminator                        |
    |                      Your Discriminator                       |
    |                    Desired Min TX Interval                    |
    |                   Required Min RX Interval                    |
    |                 Required Min Echo RX Interval                 |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Intervals are in microseconds.  ``decode`` applies the packet-only checks of
section 6.8.6 and raises ``Dropped`` with a short reason; the checks that need
the session (discriminator lookup, state) live in session.py.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

VERSION = 1
HEADER = struct.Struct("!BBBBIIIII")
MIN_LENGTH = HEADER.size  # 24: no authentication section
MIN_LENGTH_AUTH = 26  # 24 + the shortest authentication section


class State(enum.IntEnum):
    ADMIN_DOWN = 0
    DOWN = 1
    INIT = 2
    UP = 3


class Diag(enum.IntEnum):
    NONE = 0
    DETECTION_EXPIRED = 1
    ECHO_FAILED = 2
    NEIGHBOR_DOWN = 3
    FORWARDING_RESET = 4
    PATH_DOWN = 5
    CONCAT_PATH_DOWN = 6
    ADMIN_DOWN = 7
    REVERSE_CONCAT_PATH_DOWN = 8


class Dropped(ValueError):
    """A received packet discarded; ``reason`` is the counter it goes to."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ControlPacket:
    state: State
    detect_mult: int
    my_discr: int
    your_discr: int = 0
    desired_min_tx: int = 1_000_000
    required_min_rx: int = 0
    required_min_echo_rx: int = 0
    diag: Diag = Diag.NONE
    poll: bool = False
    final: bool = False
    cpi: bool = False  # control plane independent
    auth: bool = False
    demand: bool = False
    multipoint: bool = False
    version: int = VERSION


def encode(p: ControlPacket) -> bytes:
    flags = (p.state << 6 | p.poll << 5 | p.final << 4 | p.cpi << 3 | p.auth << 2
             | p.demand << 1 | p.multipoint)
    return HEADER.pack(p.version << 5 | p.diag, flags, p.detect_mult, MIN_LENGTH, p.my_discr,
                       p.your_discr, p.desired_min_tx, p.required_min_rx, p.required_min_echo_rx)


def decode(data: bytes) -> ControlPacket:
    """The packet, or ``Dropped`` for the packet-level checks of RFC 5880 6.8.6."""
    if len(data) < MIN_LENGTH:
        raise Dropped("short")
    vd, flags, mult, length, mine, yours, tx, rx, echo = HEADER.unpack_from(data)
    if vd >> 5 != VERSION:
        raise Dropped("version")
    auth = bool(flags & 0x04)
    if length < (MIN_LENGTH_AUTH if auth else MIN_LENGTH):
        raise Dropped("length")
    if length > len(data):
        raise Dropped("truncated")
    if mult == 0:
        raise Dropped("detect_mult_zero")
    if flags & 0x01:
        raise Dropped("multipoint")
    if flags & 0x30 == 0x30:  # section 6.5: never both
        raise Dropped("poll_and_final")
    if mine == 0:
        raise Dropped("my_discr_zero")
    if auth:  # no authentication is configured (keepalived has none either)
        raise Dropped("auth")
    diag = vd & 0x1F
    if diag not in Diag._value2member_map_:  # keepalived drops these too
        raise Dropped("diag")
    return ControlPacket(
        state=State(flags >> 6), detect_mult=mult, my_discr=mine, your_discr=yours,
        desired_min_tx=tx, required_min_rx=rx, required_min_echo_rx=echo,
        diag=Diag(diag),
        poll=bool(flags & 0x20), final=bool(flags & 0x10), cpi=bool(flags & 0x08),
        auth=auth, demand=bool(flags & 0x02), multipoint=False)
