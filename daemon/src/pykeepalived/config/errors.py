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


@dataclass(frozen=True)
class Diagnostic:
    """One error or warning, printed as ``FILE:LINE:COL: error: MESSAGE``."""

    severity: str  # "error" | "warning"
    location: Location
    message: str

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


@dataclass
class Diagnostics:
    """Collects every problem so that all of them are reported, not just the first."""

    items: list[Diagnostic] = field(default_factory=list)
    # (block field, name) of objects dropped for errors, so that references to
    # them do not cascade into "not defined" errors.
    broken: set[tuple[str, str]] = field(default_factory=set)

    def error(self, location: Location, message: str) -> None:
        self.items.append(Diagnostic("error", location, message))

    def warning(self, location: Location, message: str) -> None:
        self.items.append(Diagnostic("warning", location, message))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def sorted(self) -> list[Diagnostic]:
        """Problems in file order (includes keep their own file names)."""
        return sorted(self.items, key=lambda d: (d.location.file, d.location.line, d.location.col))

    def __bool__(self) -> bool:
        return bool(self.errors)
