"""BFD Control packet codec: RFC 5880 4.1 layout and the packet checks of 6.8.6."""
from __future__ import annotations

import struct

import pytest

from pykeepalived.bfd.packet import ControlPacket, Diag, Dropped, State, decode, encode

# A packet as keepalived 2.2.7 sends it in Init (hand-assembled from RFC 5880 4.1):
# version 1, diag 0, state Init, no flags, mult 3, length 24, my 0x11223344, your 0x55667788,
# desired tx 1 s, required rx 50 ms, echo 0.
INIT_HEX = "20 80 03 18 11223344 55667788 000f4240 0000c350 00000000"


def raw(hexstr: str) -> bytes:
    return bytes.fromhex(hexstr.replace(" ", ""))


def test_decode_a_known_packet() -> None:
    p = decode(raw(INIT_HEX))
    assert p == ControlPacket(state=State.INIT, detect_mult=3, my_discr=0x11223344, your_discr=0x55667788,
                              desired_min_tx=1_000_000, required_min_rx=50_000)


def test_encode_is_the_inverse() -> None:
    assert encode(decode(raw(INIT_HEX))) == raw(INIT_HEX)


@pytest.mark.parametrize("flags", [dict(poll=True), dict(final=True), dict(cpi=True), dict(demand=True)])
def test_flags_round_trip(flags: dict) -> None:
    p = ControlPacket(state=State.UP, detect_mult=5, my_discr=7, your_discr=9, diag=Diag.NEIGHBOR_DOWN, **flags)
    assert decode(encode(p)) == p


def test_flag_bit_positions() -> None:
    data = encode(ControlPacket(state=State.UP, detect_mult=1, my_discr=1, poll=True))
    assert data[1] == 0b11_1_0_0_0_0_0
    data = encode(ControlPacket(state=State.ADMIN_DOWN, detect_mult=1, my_discr=1, final=True,
                                diag=Diag.ADMIN_DOWN))
    assert data[:2] == bytes([0x20 | 7, 0b00_0_1_0_0_0_0])


def mutate(offset: int, value: int) -> bytes:
    data = bytearray(raw(INIT_HEX))
    data[offset] = value
    return bytes(data)


@pytest.mark.parametrize(("data", "reason"), [
    (raw(INIT_HEX)[:23], "short"),
    (mutate(0, 0x40), "version"),                      # version 2
    (mutate(0, 0x00), "version"),                      # version 0
    (mutate(3, 23), "length"),                         # below 24
    (mutate(3, 25), "truncated"),                      # longer than the datagram
    (mutate(2, 0), "detect_mult_zero"),
    (mutate(1, 0x81), "multipoint"),
    (mutate(1, 0x84) + b"\x01\x02", "length"),         # A set: 26 at least, length says 24
    (raw(INIT_HEX)[:4] + b"\0\0\0\0" + raw(INIT_HEX)[8:], "my_discr_zero"),
    (mutate(1, 0xB0), "poll_and_final"),
    (mutate(0, 0x20 | 9), "diag"),
])
def test_packet_checks_of_6_8_6(data: bytes, reason: str) -> None:
    with pytest.raises(Dropped) as exc:
        decode(data)
    assert exc.value.reason == reason


def test_authentication_is_refused() -> None:
    data = bytearray(raw(INIT_HEX) + b"\x01\x03\x00")  # simple password section, 3 bytes
    data[1], data[3] = 0x84, 27
    with pytest.raises(Dropped) as exc:
        decode(bytes(data))
    assert exc.value.reason == "auth"


def test_trailing_bytes_beyond_length_are_ignored() -> None:
    assert decode(raw(INIT_HEX) + b"\xff" * 8).my_discr == 0x11223344


def test_header_is_24_bytes() -> None:
    assert len(encode(ControlPacket(state=State.DOWN, detect_mult=3, my_discr=1))) == 24
    assert struct.unpack("!I", encode(ControlPacket(state=State.DOWN, detect_mult=3, my_discr=1,
                                                    desired_min_tx=50_000))[12:16]) == (50_000,)
