"""keepalived's line preprocessor: conditional lines (``@ID``) and ``$PARAM`` substitution.

keepalived.conf(5), ADVANCED CONFIGURATION, as keepalived 2.2 applies it to
each line before it splits words:

- ``@ID rest`` keeps ``rest`` only when ID is the config-id (``-i``/
  ``--config-id``, default: the host name up to its first dot); ``@^ID rest``
  keeps it only when ID is not. ``@ID`` alone on a line drops the line.
- ``$NAME=VALUE`` (only blanks before the ``$``, no blank before ``=``)
  defines a parameter; a VALUE ending in ``\\`` continues on the next line
  (a multi-line definition, used alone on a line of its own).
- ``${NAME}`` anywhere, or ``$NAME`` followed by a blank, ``,``, ``)`` or the line end, is
  replaced by the value at the time of use, recursively; an undefined name
  is left as written (so a ``$`` in an existing script survives).
- Predefined: ``${_PWD}`` (the current file's directory), ``${_INSTANCE}``
  (the config-id), ``${_HASH}`` (``#``), ``${_BANG}`` (``!``).

Lines keep their own line numbers, so every later error names the line the
user wrote; the ``@ID`` prefix is blanked rather than cut, so columns stay
true on lines without substitution. Lines produced by a multi-line
parameter carry the line number of the ``$NAME`` that produced them.
- ``~SEQ(...)`` / ``~LST(...)`` repeat the rest of their line once per
  value (config/loops.py), nested loops and all.
``${_RANDOM}`` is not implemented (left as written).
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

from .errors import Diagnostics, Location
from .loops import LoopError, is_loop, parse_lst, parse_seq_head, seq_values

CONFIG_ID_ENV = "PYKEEPALIVED_CONFIG_ID"  # set by `pykeepalived -i`; inherited by its children and judges
MAX_DEPTH = 32  # nested substitutions before we call it a loop
# A parameter that doubles itself at each level would grow past memory within
# MAX_DEPTH levels: lines and expanded lines are bounded, an error past that.
MAX_LINE = 65536
MAX_EXPANDED_LINES = 200_000

_DEFINE_RE = re.compile(r"[ \t]*\$([A-Za-z_][A-Za-z0-9_]*)=(.*)")
# keepalived ends a bare $NAME at a blank, ',', ')' or the line end (the last two for ~SEQ's arguments)
_USE_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=[ \t,)]|$)")
_ALONE_RE = re.compile(r"[ \t]*(?:\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*))[ \t]*")
_COND_RE = re.compile(r"([ \t]*)@(\^?)([^ \t]*)")


def default_config_id() -> str:
    """keepalived's default config-id: the node name up to its first dot (or ``-i``, via the environment)."""
    return os.environ.get(CONFIG_ID_ENV) or socket.gethostname().split(".")[0]


@dataclass
class Preprocessor:
    """State shared by a file and everything it includes, in line order."""

    config_id: str = field(default_factory=default_config_id)
    params: dict[str, list[str]] = field(default_factory=dict)  # name -> value lines
    _open: tuple[str, list[str]] | None = None  # a multi-line definition being read
    _expanded: int = 0  # lines produced by multi-line parameters so far

    def lines(self, text: str, filename: str, diags: Diagnostics) -> Iterator[tuple[int, str]]:
        """(line number, line) pairs after conditionals and substitution."""
        pwd = os.path.dirname(os.path.abspath(filename))
        for lineno, line in enumerate(text.split("\n"), 1):
            if line.endswith("\r"):
                line = line[:-1]
            if self._open is not None:
                self._continue(line)
                continue
            yield from self._line(line, lineno, Location(filename, lineno, 1), pwd, diags, 0)
        if self._open is not None:
            diags.error(Location(filename, lineno, 1), f"multi-line parameter ${self._open[0]} never ends "
                        "(its last line ends with '\\')")
            self._open = None

    def _continue(self, line: str) -> None:
        name, value = self._open
        more = line.rstrip().endswith("\\")
        part = line.rstrip()[:-1] if more else line
        value.append(part)
        if not more:
            self.params[name] = value
            self._open = None

    def _line(self, line: str, lineno: int, loc: Location, pwd: str, diags: Diagnostics,
              depth: int) -> Iterator[tuple[int, str]]:
        if depth > MAX_DEPTH:
            diags.error(loc, f"parameter substitution nested deeper than {MAX_DEPTH} levels (a parameter that "
                        "uses itself?)")
            return
        m = _COND_RE.match(line)
        if m:
            negate, ident = m.group(2) == "^", m.group(3)
            rest = line[m.end():]
            if not rest.strip() or (ident == self.config_id) == negate:
                return
            line = " " * m.end() + rest  # blanks keep the columns of what follows
        d = _DEFINE_RE.fullmatch(line)
        if d:
            self._define(d.group(1), d.group(2))
            return
        stripped = line.lstrip(" \t")
        if is_loop(stripped):
            yield from self._loop(line, len(line) - len(stripped), lineno, loc, pwd, diags, depth)
            return
        if "$" not in line:
            yield lineno, line
            return
        alone = _ALONE_RE.fullmatch(line)
        if alone:
            value = self._value(alone.group(1) or alone.group(2), pwd)
            if value is not None and len(value) > 1:
                self._expanded += len(value)
                if self._expanded > MAX_EXPANDED_LINES:
                    diags.error(loc, f"multi-line parameters expand to more than {MAX_EXPANDED_LINES} lines")
                    return
                for part in value:
                    yield from self._line(part, lineno, loc, pwd, diags, depth + 1)
                return
        new = _USE_RE.sub(lambda u: self._one_line(u, pwd, loc, diags), line)
        if new == line:
            yield lineno, line
            return
        if len(new) > MAX_LINE:
            diags.error(loc, f"parameter substitution makes a line longer than {MAX_LINE} characters")
            return
        yield from self._line(new, lineno, loc, pwd, diags, depth + 1)

    def _loop(self, line: str, start: int, lineno: int, loc: Location, pwd: str, diags: Diagnostics,
              depth: int) -> Iterator[tuple[int, str]]:
        """``~SEQ``/``~LST`` (config/loops.py): the rest of the line once per value, the name(s) set each time."""
        try:
            if line.startswith("~LST", start):
                lst = parse_lst(line, start)
                names, rounds, body_at = lst.names, lst.rounds, lst.body_offset
            else:
                name, hex_out, args, args_at, body_at = parse_seq_head(line, start)
                # keepalived substitutes $PARAM in the numbers when it reads the line, not per round
                args = _USE_RE.sub(lambda u: self._one_line(u, pwd, loc, diags), args)
                names = (name,)
                rounds = ((format(n, "x") if hex_out else str(n),) for n in seq_values(args, hex_out, args_at))
        except LoopError as err:
            diags.error(Location(loc.file, loc.line, err.offset + 1), str(err))
            return
        body = " " * body_at + line[body_at:]  # blanks keep the body's columns
        for values in rounds:
            self._expanded += 1
            if self._expanded > MAX_EXPANDED_LINES:
                diags.error(Location(loc.file, loc.line, start + 1),
                            f"~SEQ/~LST and multi-line parameters expand to more than {MAX_EXPANDED_LINES} lines")
                return
            for name, value in zip(names, values):
                self.params[name] = [value]  # still set after the loop, as in keepalived
            yield from self._line(body, lineno, loc, pwd, diags, depth + 1)

    def _define(self, name: str, value: str) -> None:
        if value.rstrip().endswith("\\"):
            first = value.rstrip()[:-1]
            self._open = (name, [first] if first.strip() else [])
        else:
            self.params[name] = [value]

    def _value(self, name: str, pwd: str) -> list[str] | None:
        if name in self.params:
            return self.params[name]
        builtin = {"_PWD": pwd, "_INSTANCE": self.config_id, "_HASH": "#", "_BANG": "!"}.get(name)
        return None if builtin is None else [builtin]

    def _one_line(self, use: re.Match, pwd: str, loc: Location, diags: Diagnostics) -> str:
        name = use.group(1) or use.group(2)
        value = self._value(name, pwd)
        if value is None:
            return use.group(0)
        if len(value) > 1:
            diags.error(loc, f"multi-line parameter ${name} must stand alone on its line")
            return ""
        return value[0]
