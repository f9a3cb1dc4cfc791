"""keepalived's ``~SEQ`` and ``~LST`` line loops, parsed (config/preprocess.py runs them).

keepalived.conf(5), ADVANCED CONFIGURATION; semantics as keepalived 2.2.7's
lib/parser.c applies them (checked against its ``-t``):

- ``~SEQ(VAR, END)``: 1..END by 1 (END < 1 counts down by 1, from -1 when
  END < 0); ``~SEQ(VAR, START, END)``: by 1 or -1; ``~SEQ(VAR, START, STEP,
  END)``: a STEP of 0 or pointing away from END is an error. Numbers are C's
  (``0x1f`` hex, ``017`` octal); ``$PARAM`` in them is substituted first.
  ``~SEQx`` writes the values in lower-case hex without ``0x`` (IPv6
  addresses), and refuses negative bounds.
- ``~LST(VAR, V1, V2, ...)`` or ``~LST({A, B}, {A1, B1}, {A2, B2}, ...)``:
  one round per value (set); missing values of a set are empty, extra ones an
  error. Values are words without blanks, commas, braces or parentheses.
- The rest of the line after ``)`` is repeated once per value with VAR (or
  A, B, ...) defined as a parameter; it may itself be a loop (nesting), a
  multi-line parameter or a ``$NAME=`` definition. The parameter keeps its
  last value after the loop, as in keepalived.

Where we differ: an empty number (``~SEQ(i, , 3)``, read as 0 by keepalived's
strtol) and a name that is not a parameter name are errors here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_C_NUMBER_RE = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_HEAD_RE = re.compile(r"~(SEQx|SEQ|LST)[ \t]*\(")
_WORD_STOP = " \t,{})"


class LoopError(ValueError):
    """A malformed loop; ``offset`` is where in the line (0-based) the problem is."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Loop:
    names: tuple[str, ...]
    rounds: tuple[tuple[str, ...], ...]  # one value per name, per round (SEQ rounds are produced lazily: see seq)
    body_offset: int  # where the repeated text starts in the line


def is_loop(stripped: str) -> bool:
    return stripped.startswith(("~SEQ", "~LST"))


def parse_seq_head(line: str, start: int) -> tuple[str, bool, str, int, int]:
    """(name, hex, argument text, its offset, body offset) of ``~SEQ[x](NAME, ...)`` at ``start``."""
    head = _HEAD_RE.match(line, start)
    if head is None or head.group(1) == "LST":
        raise LoopError("expected '(' after ~SEQ", start)
    pos = _skip_blanks(line, head.end())
    name_end = _word_end(line, pos)
    name = line[pos:name_end]
    if not _NAME_RE.fullmatch(name):
        raise LoopError(f"~SEQ needs a parameter name first, got '{name}'", pos)
    pos = _skip_blanks(line, name_end)
    if pos >= len(line) or line[pos] != ",":
        raise LoopError("~SEQ needs at least an end value: ~SEQ(NAME, [START, [STEP,]] END)", pos)
    close = line.find(")", pos)
    if close < 0:
        raise LoopError("~SEQ(...) has no closing ')'", pos)
    args = _skip_blanks(line, pos + 1)
    return name, head.group(1) == "SEQx", line[args:close], args, _skip_blanks(line, close + 1)


def seq_values(args: str, hex_out: bool, offset: int) -> range:
    """The numbers of ``~SEQ``'s arguments (after substitution), as keepalived counts them."""
    parts = [part.strip(" \t") for part in args.split(",")]
    if len(parts) > 3:
        raise LoopError("~SEQ takes at most START, STEP, END after the name", offset)
    numbers = []
    for part in parts:
        if not _C_NUMBER_RE.fullmatch(part):
            raise LoopError(f"~SEQ value '{part}' is not a number", offset)
        numbers.append(_c_int(part))
    if len(numbers) == 1:
        end = numbers[0]
        start, step = (-1 if end < 0 else 1), (-1 if end < 1 else 1)
    elif len(numbers) == 2:
        start, end = numbers
        step = 1 if start <= end else -1
    else:
        start, step, end = numbers
        if step == 0 or (start < end and step < 0) or (start > end and step > 0):
            raise LoopError(f"~SEQ step {step} never gets from {start} to {end}", offset)
    if hex_out and (start < 0 or end < 0):
        raise LoopError("~SEQx takes only numbers from 0 up", offset)
    return range(start, end + (1 if step > 0 else -1), step)


def _c_int(text: str) -> int:
    """strtol(text, 0): a leading 0 means octal (Python's int(text, 0) refuses it)."""
    digits = text.lstrip("+-")
    if len(digits) > 1 and digits[0] == "0" and digits[1] not in "xX":
        return int(text, 8)
    return int(text, 0)


def parse_lst(line: str, start: int) -> Loop:
    """``~LST(NAME, V1, ...)`` or ``~LST({A, B}, {A1, B1}, ...)`` at ``start``."""
    head = _HEAD_RE.match(line, start)
    if head is None or head.group(1) != "LST":
        raise LoopError("expected '(' after ~LST", start)
    pos = _skip_blanks(line, head.end())
    names, pos = _group(line, pos, "name")
    for name, at in names:
        if not _NAME_RE.fullmatch(name):
            raise LoopError(f"~LST parameter name '{name}' is not a name", at)
    if not _at(line, pos, ","):
        raise LoopError("~LST needs values after the names: ~LST(NAME, V1, V2, ...)", pos)
    rounds = []
    while True:
        pos = _skip_blanks(line, pos + 1)
        values, pos = _group(line, pos, "value")
        if len(values) > len(names):
            raise LoopError(f"~LST value set has {len(values)} values for {len(names)} name"
                            f"{'' if len(names) == 1 else 's'}", values[0][1])
        rounds.append(tuple(v for v, _ in values) + ("",) * (len(names) - len(values)))
        if _at(line, pos, ")"):
            break
        if not _at(line, pos, ","):
            raise LoopError("~LST values are separated by ',' and end with ')'", pos)
    return Loop(tuple(n for n, _ in names), tuple(rounds), _skip_blanks(line, pos + 1))


def _group(line: str, pos: int, what: str) -> tuple[list[tuple[str, int]], int]:
    """One word, or ``{w1, w2, ...}``: the words with their offsets, and the offset after."""
    if not _at(line, pos, "{"):
        end = _word_end(line, pos)
        return [(line[pos:end], pos)], _skip_blanks(line, end)
    words = []
    pos = _skip_blanks(line, pos + 1)
    while True:
        end = _word_end(line, pos)
        words.append((line[pos:end], pos))
        pos = _skip_blanks(line, end)
        if _at(line, pos, "}"):
            return words, _skip_blanks(line, pos + 1)
        if not _at(line, pos, ","):
            raise LoopError(f"~LST {what}s in braces are separated by ',' and end with '}}'", pos)
        pos = _skip_blanks(line, pos + 1)


def _at(line: str, pos: int, char: str) -> bool:
    return pos < len(line) and line[pos] == char


def _skip_blanks(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] in " \t":
        pos += 1
    return pos


def _word_end(line: str, pos: int) -> int:
    while pos < len(line) and line[pos] not in _WORD_STOP:
        pos += 1
    return pos
