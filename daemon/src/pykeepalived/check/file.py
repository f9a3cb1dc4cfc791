"""FILE_CHECK: a real server's health and weight from a number in a track_file.

keepalived.conf(5), "Track files" and "FILE_CHECK": the file holds a number
(read like track_file for VRRP: the first word, junk is 0; a missing file is
0).  With weight 0 a non-zero value is a failure (``reverse``: a zero value
is); otherwise ``value * weight`` (negated by ``reverse``) is added to the
real server's weight, and a sum at or below -2147483648 is a failure.

keepalived reacts to inotify; here the scheduler re-reads the file every
``POLL`` seconds (a 64-byte read, no timers of its own), which is what the
VRRP side's stat() poll costs too.
"""

from __future__ import annotations

import asyncio
import os

from .base import BaseChecker, CheckResult, Timing

POLL = 0.5
FAULT = -2**31  # keepalived's IPVS_WEIGHT_FAULT
TIMING = Timing(delay_loop=POLL, retry=0, delay_before_retry=POLL, warmup=0.0, alpha=False)


def parse_value(text: str) -> int:
    """The number at the start of a track file (as vrrp/track.py reads it)."""
    words = text.split()
    try:
        return int(words[0]) if words else 0
    except ValueError:
        return 0


def verdict(value: int, weight: int, reverse: bool, base_weight: int) -> CheckResult:
    """Pure: the check result for one value read from the file."""
    if weight == 0:
        failed = (value != 0) != reverse
        return CheckResult(not failed, f"value {value}")
    delta = value * weight * (-1 if reverse else 1)
    if delta <= FAULT:
        return CheckResult(False, f"value {value} x weight {weight} is at or below {FAULT}")
    return CheckResult(True, f"value {value}", weight=base_weight + delta)


class FileChecker(BaseChecker):
    """One FILE_CHECK of one real server; ``target`` is unused (there is no connection)."""

    kind = "FILE_CHECK"

    def __init__(self, path: str, weight: int, reverse: bool, base_weight: int, init_file: bool = False) -> None:
        self.target = path  # what logs and repr show
        self.path, self.weight, self.reverse = path, weight, reverse
        self.base_weight, self.init_file = base_weight, init_file

    def config_key(self) -> tuple:
        return (self.kind, self.path, self.weight, self.reverse, self.base_weight)

    def read(self) -> int:
        if self.init_file and not os.path.exists(self.path):
            with open(self.path, "w") as f:  # keepalived's init_file: VALUE defaults to 0
                f.write("0\n")
        try:
            with open(self.path) as f:
                return parse_value(f.read(64))
        except OSError:
            return 0

    async def check(self) -> CheckResult:
        await asyncio.sleep(0)  # a coroutine like the others; the read itself does not block
        return verdict(self.read(), self.weight, self.reverse, self.base_weight)
