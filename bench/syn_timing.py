"""When each health check's connect reached its real server, measured outside the daemon.

A capture (``tcpdump -w``, kernel timestamps) of the SYNs to the real servers'
port is read back here; the same method times pykeepalived and keepalived.
Lateness of a check = the gap since the previous check of the same real server
minus delay_loop: keepalived schedules the next check delay_loop after the
previous one *ended*, we on a fixed grid, and both should show a gap of
delay_loop plus (little) time.  A real server whose checks stop shows as a gap
up to the window's edge.
"""

from __future__ import annotations

import ipaddress
import struct
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

LINK_HEADER = {1: 14, 113: 16, 276: 20, 0: 4, 101: 0}  # Ethernet (lo), Linux cooked v1/v2, null, raw


def read_syns(path: Path) -> Iterator[tuple[float, str, int]]:
    """(timestamp, destination address, source port) of each IPv4 TCP packet in a pcap file."""
    data = path.read_bytes()
    if len(data) < 24:
        return
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
    skip = LINK_HEADER[linktype]
    record = struct.Struct(endian + "IIII")
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = record.unpack_from(data, off)
        pkt = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        ip = pkt[skip:]
        if len(ip) < 24 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 0x0F) * 4
        sport = struct.unpack_from("!H", ip, ihl)[0]
        yield sec + frac / (1e9 if nano else 1e6), str(ipaddress.IPv4Address(ip[16:20])), sport


def lateness(syns: Iterable[tuple[float, str, int]], targets: int, delay_loop: float,
             start: float, end: float) -> dict:
    """Checks started in [start, end) and how late each was (see the module doc).

    A retransmitted SYN (same real server, same source port) is the same check.
    """
    per_target: dict[str, list[float]] = defaultdict(list)
    seen: set[tuple[str, int]] = set()
    retransmits = 0
    for ts, dst, sport in syns:
        if not start <= ts < end:
            continue
        if (dst, sport) in seen:
            retransmits += 1
            continue
        seen.add((dst, sport))
        per_target[dst].append(ts)
    late: list[float] = []
    for times in per_target.values():
        times.sort()
        late.extend(b - a - delay_loop for a, b in zip(times, times[1:], strict=False))
        # the window's edges: a check that should have come before/after it did not
        edge = max(times[0] - start, end - times[-1]) - delay_loop
        if edge > 0:
            late.append(edge)
    silent = targets - len(per_target)
    late.extend([end - start] * max(silent, 0))
    late.sort()
    checks = sum(len(t) for t in per_target.values())

    def pct(p: float) -> float:
        return late[min(len(late) - 1, int(p / 100 * len(late)))] if late else 0.0

    return {"checks": checks, "targets_seen": len(per_target), "silent": max(silent, 0), "gaps": len(late),
            "retransmits": retransmits, "late_p50": pct(50), "late_p99": pct(99),
            "late_max": late[-1] if late else 0.0,
            "late_gt_interval": sum(1 for v in late if v > delay_loop)}
