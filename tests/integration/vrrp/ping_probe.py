"""A ping from the lab's client, every reply stamped (-D): how many went unanswered, the longest gap.

Used by the handover test here and by the chaos suite (tests/chaos/test_takeover_load.py).
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)")
SENT = re.compile(r"(\d+) packets transmitted")


@dataclass
class Probe:
    sent: int
    replies: list[tuple[float, int]]  # (time, icmp_seq)

    @property
    def failed(self) -> int:
        return self.sent - len({seq for _, seq in self.replies})

    @property
    def longest_gap(self) -> float:
        times = sorted(t for t, _ in self.replies)
        return max((b - a for a, b in zip(times, times[1:], strict=False)), default=float("inf"))


def start_ping(lab, vip: str, interval: float, count: int) -> subprocess.Popen:
    """A ping every ``interval`` from the client; -D stamps each reply, -W 1 bounds the last wait."""
    return lab.popen("client", ["ping", "-n", "-D", "-i", f"{interval:g}", "-c", str(count), "-W", "1", vip],
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish_ping(proc: subprocess.Popen, timeout: float) -> Probe:
    out, _ = proc.communicate(timeout=timeout)
    sent = SENT.search(out)
    assert sent, f"ping printed no summary:\n{out}"
    replies = [(float(m.group(1)), int(m.group(2))) for line in out.splitlines() if (m := REPLY.match(line))]
    return Probe(int(sent.group(1)), replies)
