"""Fuzz acceptance: the decoders survive >= 100,000 random and mutated packets
raising nothing but VrrpDecodeError; whatever decodes re-encodes to itself.

Seeded (reproducible).  Mutations start from the keepalived golden vectors:
bit flips, byte overwrites, truncation, extension, count-field changes, with
the checksum repaired half of the time so the later checks are reached too.
"""
from __future__ import annotations

import random
import struct
import time
from collections import Counter
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

from vrrp_vectors import VECTORS

from pykeepalived.net.checksum import internet_checksum, ipv4_pseudo_header, ipv6_pseudo_header
from pykeepalived.vrrp.ippacket import decode_ipv4_packet
from pykeepalived.vrrp.packet import DropReason, VrrpDecodeError, decode, encode

SEED = 20240517
ROUNDS = 100_000


def fix_checksum(payload: bytes, src, dst, rng: random.Random) -> bytes:
    """Repair the VRRP checksum in one of the forms, so mutations go deeper."""
    if len(payload) < 8:
        return payload
    zeroed = payload[:6] + b"\0\0" + payload[8:]
    if payload[0] >> 4 == 3 and rng.random() < 0.8:
        pseudo = (ipv6_pseudo_header if isinstance(src, IPv6Address) else ipv4_pseudo_header)
        csum = internet_checksum(pseudo(src, dst, len(zeroed)) + zeroed)
    else:
        csum = internet_checksum(zeroed)
    return payload[:6] + struct.pack("!H", csum) + payload[8:]


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(7)  # one of the seven cases below
        if op == 0 and buf:  # flip 1-4 bits
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(buf))
                buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:  # overwrite a byte
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif op == 2:  # truncate
            del buf[rng.randint(0, len(buf)):]
        elif op == 3:  # extend
            buf += rng.randbytes(rng.randint(1, 40))
        elif op == 4 and len(buf) > 3:  # change the address count
            buf[3] = rng.choice([0, 1, 2, 3, 255, rng.randrange(256)])
        elif op == 5 and buf:  # version/type nibble
            buf[0] = rng.randrange(256)
        elif op == 6 and len(buf) > 5:  # VRID / auth type / interval
            buf[rng.choice([1, 4, 5])] = rng.choice([0, 1, 2, 3, 255])
    return bytes(buf)


def random_addr(rng: random.Random, v6: bool):
    return IPv6Address(rng.randbytes(16)) if v6 else IPv4Address(rng.randbytes(4))


def test_decoder_survives_100k_random_and_mutated_packets() -> None:
    rng = random.Random(SEED)
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    for n in range(ROUNDS):
        kind = n % 10
        vec = rng.choice(VECTORS)
        if kind == 0:  # pure noise, either family
            v6 = rng.random() < 0.5
            src, dst = random_addr(rng, v6), random_addr(rng, v6)
            payload = rng.randbytes(rng.randint(0, 90))
        else:
            src, dst = vec.src, vec.dst
            if rng.random() < 0.05:  # the right bytes with the wrong family
                v6 = not isinstance(src, IPv6Address)
                src, dst = random_addr(rng, v6), random_addr(rng, v6)
            payload = mutate(vec.payload, rng)
            if rng.random() < 0.5:
                payload = fix_checksum(payload, src, dst, rng)
        ttl = rng.choice([255, 255, 255, None, 64, 0])
        try:
            adv = decode(payload, src, dst, ttl)
        except VrrpDecodeError as err:
            assert isinstance(err.reason, DropReason)
            outcomes[err.reason.value] += 1
        else:
            outcomes["ok"] += 1
            again = encode(adv, src, dst)
            back = decode(again, src, dst, None)
            assert replace(back, checksum=adv.checksum, checksum_form=adv.checksum_form) == adv
            assert encode(back, src, dst) == again
            if adv.version == 2 or not (payload[4] & 0xF0):  # v3 reserved bits are not kept
                assert again == payload or payload[6:8] == b"\xff\xff"
        if kind == 1 and vec.ip_packet is not None:  # whole IPv4 datagrams too
            packet = mutate(vec.ip_packet, rng)
            try:
                decode_ipv4_packet(packet, check_ttl=rng.random() < 0.5)
            except VrrpDecodeError as err:
                outcomes["ip:" + err.reason.value] += 1
            else:
                outcomes["ip:ok"] += 1
    elapsed = time.perf_counter() - started
    total = sum(v for k, v in outcomes.items() if not k.startswith("ip:"))
    print(f"\nfuzz: {total} payloads + {sum(outcomes.values()) - total} IPv4 datagrams "
          f"in {elapsed:.1f}s: {dict(sorted(outcomes.items()))}")
    assert total >= 100_000
    # the mutations reach every check the decoder has, and some still decode
    for reason in ("length", "version", "type", "ttl", "checksum", "auth", "vrid", "interval"):
        assert outcomes[reason] > 0, reason
    for reason in ("ip:length", "ip:protocol", "ip:auth", "ip:checksum", "ip:ok"):
        assert outcomes[reason] > 0, reason
    assert outcomes["ok"] > 1000
