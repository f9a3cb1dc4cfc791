"""Python 3.9-3.13: the few newer features the daemon uses, one place each.

Hosts run Debian's python3 (3.9 on bullseye up to 3.13 on trixie).  On the
newest versions these are the standard library's own; below, a small
equivalent with the same behaviour.  Imports nothing of ours (the bottom layer),
and this half no asyncio or sockets either (pure modules use it); the event
loop's part is compat/aio.py.
"""
from __future__ import annotations

import enum
import sys
from typing import Any

try:  # the standard library's blake2b without the OpenSSL that importing hashlib loads (~4 MB RSS a process)
    from _blake2 import blake2b  # noqa: F401 (re-exported)
except ImportError:  # a Python built without it
    from hashlib import blake2b  # noqa: F401 (re-exported)

# @dataclass(frozen=True, **SLOTS): __slots__ (less memory) where 3.10+ supports it.
SLOTS: dict[str, bool] = {"slots": True} if sys.version_info >= (3, 10) else {}


def zip_strict(*iterables: Any) -> Any:
    """zip(..., strict=True): ValueError when the lengths differ."""
    if sys.version_info >= (3, 10):
        return zip(*iterables, strict=True)
    lists = [list(it) for it in iterables]
    if len({len(x) for x in lists}) > 1:
        raise ValueError(f"zip_strict: lengths differ: {[len(x) for x in lists]}")
    return zip(*lists)


if sys.version_info >= (3, 11):
    from enum import StrEnum
else:
    class StrEnum(str, enum.Enum):
        """enum.StrEnum: members are str, and str()/format() give the value."""

        def __str__(self) -> str:
            return str(self.value)

        @staticmethod
        def _generate_next_value_(name: str, start: int, count: int, last_values: list[Any]) -> str:
            return name.lower()
