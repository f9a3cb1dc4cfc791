"""Diagnostics: every problem carries the file, line and column it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class Location(NamedTuple):
    """A position in a config file (1-based line and column); a tuple for speed."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


UNKNOWN_LOCATION = Location("<unknown>", 0, 0)
MAX_SHOWN = 60  # characters of a bad word quoted back in a message


def shown(text: str) -> str:
    """A word as quoted in a message: a long one is cut (a 1 MB word is not echoed back)."""
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN]}... ({len(text)} characters)"


@dataclass(frozen=True)
class Diagnostic:
    """One error or warning, printed as ``FILE:LINE:COL: error: MESSAGE``."""

    severity: str  # "error" | "warning"
    location: Location
    message: str
    last: bool = False  # listed after the file's other problems ("too many errors")

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}: {self.message}"


class ConfigError(Exception):
    """A single problem raised by a keyword function, with where it was found."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location


class AlreadyReported(ConfigError):
    """An object could not be built because of errors already recorded."""

    def __init__(self) -> None:
        super().__init__("already reported")


# Past this many errors (or warnings) in one file the rest are not listed and,
# for errors, parsing stops, as compilers do: a binary or garbled file answers
# `-t` at once with a screenful, not with one line per token.
MAX_PER_FILE = 100


@dataclass
class Diagnostics:
    """Collects every problem so that all of them are reported, not just the first."""

    items: list[Diagnostic] = field(default_factory=list)
    # (block field, name) of objects dropped for errors, so that references to
    # them do not cascade into "not defined" errors.
    broken: set[tuple[str, str]] = field(default_factory=set)
    # Tokens the lexer already reported (an undecodable byte, a control
    # character): later problems located there are consequences, not news.
    tainted: set[Location] = field(default_factory=set)
    # (severity, file) -> problems seen, listed or not.
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    # Set when a file has more errors than are listed: the parser stops there.
    gave_up: bool = False

    def error(self, location: Location, message: str) -> None:
        self._add("error", location, message)

    def warning(self, location: Location, message: str) -> None:
        self._add("warning", location, message)

    def _add(self, severity: str, location: Location, message: str) -> None:
        if location in self.tainted:
            return
        key = (severity, location.file)
        n = self.counts.get(key, 0) + 1
        self.counts[key] = n
        if n <= MAX_PER_FILE:
            self.items.append(Diagnostic(severity, location, message))
        elif n == MAX_PER_FILE + 1:
            stop = "; stopping here" if severity == "error" else ""
            self.items.append(Diagnostic(severity, location, f"too many {severity}s in this file{stop}; "
                                         f"the first {MAX_PER_FILE} are listed, fix those and run again",
                                         last=True))
            self.gave_up = self.gave_up or severity == "error"

    def taint(self, location: Location) -> None:
        self.tainted.add(location)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def sorted(self) -> list[Diagnostic]:
        """Problems in file order (includes keep their own file names)."""
        return sorted(self.items, key=lambda d: (d.location.file, d.last, d.location.line, d.location.col))

    def __bool__(self) -> bool:
        return bool(self.errors)
