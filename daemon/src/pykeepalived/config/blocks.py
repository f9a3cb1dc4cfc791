"""Incremental parsing: a top-level block whose text did not change is not parsed again.

A reload of 2,000 virtual servers x 20 real servers re-read ~130,000 lines to
change one weight. Here each file is cut, by one regex scan, into parts that
start at a line opening a top-level keyword (``virtual_server``, ``include``,
...); a part is tokenized, parsed and built on its own, and a part that is
exactly one ``virtual_server`` is remembered by (file, digest of its text):
the next load finds an unchanged one in a dict.  An ``include`` at the top
level is followed file by file, so a changed included file re-parses its own
parts only.

A part found again at another line (lines were added above it) keeps the
file:line:col of where it was parsed: those locations are only ever shown
in a judgment's problems, so a load that reports any problem while using a
moved part is done again with ``exact`` (moved parts parsed anew), and every
location it reports is right.

When the cut does not hold (a part that does not parse alone: a keyword line
inside a block, ``include`` within a block) or any part has an error, the
file is loaded the classic way (config/loader.py): the errors, and their
locations, are exactly those of a whole-file parse.  A file with a ``$`` or
``~`` anywhere or a line starting with ``@`` (what keepalived's preprocessor
may change: $PARAM, ~SEQ, @ID lines) is always loaded the classic way.

Only the changed region of a file is cut again: the cache keeps each
file's last text with its cut (where each part starts, at which line, its
key).  A new text is compared with it (common prefix and suffix, by slices
compared at C speed); the parts wholly before or after the change keep their
keys (those after it shifted by the change's length and lines), and the
regex and the digests run over the changed parts and the one before them
only (a part's opening line is what decides where the next begins).
A file with an ``include`` at the top level is cut whole each time.

The cache lives in the daemon's parent, which forks the judge
(core/reload.py): the judge finds the parent's entries in its copy of the
memory, and the parent adopts the judge's (``BlockCache.adopt``) from the
config it accepted, with the cuts of its files (it reads each file once
more and keeps it only if its digest is the one the judge cut).
"""
from __future__ import annotations

import bisect
import dataclasses
import os
import re
from typing import Any, NamedTuple

from ..compat import blake2b
from .build import collect
from .errors import ConfigError, Diagnostics, Location
from .grammar import Keyword, Statement
from .keywords import TOP
from .lexer import WORD, Token, included_files, read_config_text, tokenize_text
from .parser import parse

# a line that opens a top-level statement (the keyword alone, then a blank, a brace or the end);
# anchored on the newline before it, which the regex engine finds fast (a "^" with re.M is tried
# at every character: 0.2 s at 2,000 x 20), the file's first line taken apart
_WORDS = "|".join(map(re.escape, sorted([*TOP.keywords, "include"], key=len, reverse=True)))
_PART_RE = re.compile(r"\n[ \t]*(?:" + _WORDS + r")(?=[ \t{]|\r?\n|\r?$)")
_FIRST_RE = re.compile(r"[ \t]*(?:" + _WORDS + r")(?=[ \t{]|\r?\n|\r?$)")
_CONDITIONAL_RE = re.compile(r"^[ \t]*@", re.M)  # keepalived's @ID lines
CACHED = "virtual_server"  # the statement that scales; its build reads nothing but its own lines


class Built(NamedTuple):
    """One top-level statement, built: what ``collect`` needs to take it as it is."""

    spec: Keyword
    value: Any
    loc: Location


class Part(NamedTuple):
    statements: tuple[Built, ...]
    line: int  # where it was parsed: its statements' locations are from there
    warnings: tuple[tuple[Location, str], ...]  # replayed on each load that reuses the part
    ready: tuple = ()  # its statements as ``collect`` takes them (``_ready``), made once


class NotCut(Exception):
    """The file cannot be loaded part by part; load it whole."""


Key = tuple[str, bytes]  # (file, digest of the part's text)


class Cut(NamedTuple):
    """Where a file's text was cut: what the next text is compared with."""

    digest: bytes  # of the text
    starts: list[int]  # each part's first character, then the text's length
    lines: list[int]  # each part's first line
    keys: list[Key | None]  # each part's key (None: blank)


def _digest(text: str) -> bytes:
    return blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).digest()


def _prefix(a: str, b: str) -> int:
    """Length of the common prefix: 64 KiB slices compared, then a bisection in the first that differs."""
    n, lo, step = min(len(a), len(b)), 0, 1 << 16
    while lo < n and a[lo:lo + step] == b[lo:lo + step]:
        lo += step
    lo, hi = min(lo, n), min(lo + step, n)
    while lo < hi:  # a[:lo] == b[:lo]; the answer is in [lo, hi]
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _suffix(a: str, b: str, limit: int) -> int:
    """Length of the common suffix, at most ``limit`` (what the prefix left of the shorter)."""
    la, lb, lo, step = len(a), len(b), 0, 1 << 16
    while lo < limit and a[max(la - lo - step, la - limit):la - lo] == b[max(lb - lo - step, lb - limit):lb - lo]:
        lo += step
    lo, hi = min(lo, limit), min(lo + step, limit)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[la - mid:la - lo] == b[lb - mid:lb - lo]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _boundaries(text: str, begin: int, end: int) -> list[int]:
    """Part starts in ``text`` after ``begin`` (itself a start) and before ``end``."""
    out = []
    for m in _PART_RE.finditer(text, max(begin - 1, 0)):
        at = m.start() + 1
        if at >= end:
            break
        if at > begin:
            out.append(at)
    return out


def recut(old_text: str, old: Cut, text: str) -> tuple[list[int], list[int], list[Key | None]]:
    """``text``'s starts, lines and known keys (None: to digest), from ``old_text``'s cut."""
    p = _prefix(old_text, text)
    s = _suffix(old_text, text, min(len(old_text), len(text)) - p)
    starts, nparts = old.starts, len(old.starts) - 1
    first = max(bisect.bisect_right(starts, max(p - 1, 0)) - 2, 0)  # the part before the one changed
    last = min(bisect.bisect_right(starts, len(old_text) - s), nparts)  # the first start in the suffix
    shift = len(text) - len(old_text)
    begin, end = starts[first], starts[last] + shift
    middle = _boundaries(text, begin, end)
    lines, pos, line = old.lines[:first + 1], begin, old.lines[first] if nparts else 1
    for at in middle:
        line += text.count("\n", pos, at)
        lines.append(line)
        pos = at
    if last < nparts:
        moved = text.count("\n", begin, end) - old_text.count("\n", starts[first], starts[last])
        lines += [n + moved for n in old.lines[last:]]
    new_starts = [*starts[:first + 1], *middle, *(at + shift for at in starts[last:])]
    keys = [*old.keys[:first], *[None] * (len(middle) + 1), *old.keys[last:]]
    return new_starts, lines, keys


class BlockCache:
    """Parts of the last accepted config by key; ``used`` holds those of the load in progress."""

    def __init__(self) -> None:
        self.entries: dict[Key, Part] = {}
        self.used: dict[Key, Part] = {}
        self.exact = False
        self.hits = 0  # parts of the last load found here (tests, bench)
        self.moved = 0  # of those, found at another line than they were parsed at
        self.recut = 0  # parts of the last load cut and digested again (tests, bench)
        self.texts: dict[str, tuple[str, Cut]] = {}  # per file without a top-level include: last text, cut
        self.cutting: dict[str, tuple[str, Cut]] = {}  # those of the load in progress

    def load(self, path: str, diags: Diagnostics, exact: bool = False) -> list[Statement]:
        """The top-level statements of ``path`` (includes followed), built; raises NotCut.

        ``exact``: a part found at another line is parsed again (its locations are reported)."""
        self.used, self.hits, self.moved, self.recut, self.exact = {}, 0, 0, 0, exact
        self.cutting = {}
        out: list[Statement] = []
        self._file(path, read_config_text(path), diags, (os.path.realpath(path),), out)
        return out

    def keep(self) -> None:
        """The load was accepted here: its parts are what the next load compares with."""
        self.entries, self.texts = self.used, self.cutting

    def cuts(self) -> dict[str, Cut]:
        """The cuts of the load just done (the parent adopts them with the file it reads again)."""
        return {path: cut for path, (_text, cut) in self.cutting.items()}

    def keys_of(self, values: list | tuple) -> list[tuple[Key, int, tuple] | None]:
        """For each value (the config's virtual servers): its part's key, line and warnings, if cached."""
        by_id = {id(p.statements[0].value): (k, p.line, p.warnings) for k, p in self.used.items()}
        return [by_id.get(id(v)) for v in values]

    def adopt(self, keyed: list[tuple[Key, int, tuple] | None], values: list | tuple,
              cuts: dict[str, Cut] | None = None) -> None:
        """Remember the judge's parts, as objects of this process (``keys_of``'s answer and the
        values it was asked about, decoded here), and its cuts of files whose text is still the
        one it cut."""
        spec, entries = TOP.keywords[CACHED], {}
        for kw, v in zip(keyed, values):
            if kw is not None:
                old = self.entries.get(kw[0])
                if old is None or old.statements[0].value is not v or old.line != kw[1]:
                    built = Built(spec, v, v.loc)
                    old = Part((built,), kw[1], kw[2], (_ready(built),))
                entries[kw[0]] = old
        self.entries = entries
        self.texts = {}
        for path, cut in (cuts or {}).items():
            try:
                text = read_config_text(path)
            except ConfigError:
                continue
            if _digest(text) == cut.digest:  # else the file changed since: the next load cuts it whole
                self.texts[path] = (text, cut)

    # -- one file ------------------------------------------------------------
    def _file(self, path: str, text: str, diags: Diagnostics, stack: tuple[str, ...], out: list) -> None:
        if "$" in text or "~" in text or ("@" in text and _CONDITIONAL_RE.search(text)):  # preprocessed
            raise NotCut(path)
        before = self.texts.get(path)
        if before is not None and not self.exact:
            starts, lines, keys = recut(before[0], before[1], text)
        else:
            starts = [0, *(m.start() + 1 for m in _PART_RE.finditer(text)), len(text)]
            lines, keys = [], [None] * (len(starts) - 1)
        if not lines:  # each part's first line, counted once
            lines, line, pos = [], 1, 0
            for begin in starts[:-1]:
                line += text.count("\n", pos, begin)
                lines.append(line)
                pos = begin
        included = False
        for i, (begin, end) in enumerate(zip(starts, starts[1:])):
            line, key = lines[i], keys[i]
            if key is not None and (key in self.entries or key in self.used):  # unchanged since the last cut
                self._part(None, key, path, line, diags, out)
                continue
            part = text[begin:end]
            if part.lstrip(" \t").startswith("include") and (begin > 0 or _FIRST_RE.match(part)):
                included = True
                eol = part.find("\n") + 1 or len(part)
                self._include(part[:eol], path, line, diags, stack, out)
                if part[eol:].strip():
                    self._part(part[eol:], None, path, line + 1, diags, out)
            elif part.strip():
                self.recut += 1
                keys[i] = self._part(part, None, path, line, diags, out)
        if not included:
            self.cutting[path] = (text, Cut(_digest(text), starts, lines, keys))

    def _include(self, text: str, path: str, line: int, diags: Diagnostics, stack: tuple[str, ...],
                 out: list) -> None:
        tokens = tokenize_text(text, path, diags, None, None, line)
        if len(tokens) != 2 or not tokens[1].is_value:
            raise NotCut(path)  # the classic load says what is wrong with it
        for match in included_files(tokens[1], path, diags, stack):
            try:
                self._file(match, read_config_text(match), diags, stack + (os.path.realpath(match),), out)
            except ConfigError:
                raise NotCut(match) from None
        if diags.errors:
            raise NotCut(path)

    def _part(self, text: str | None, key: Key | None, path: str, line: int, diags: Diagnostics,
              out: list) -> Key | None:
        """Load one part (``text``, or the unchanged one of ``key``); its key if it is cached."""
        if key is None:
            key = (path, _digest(text))
        part = self.entries.get(key) or self.used.get(key)
        if part is not None and part.line != line and self.exact:
            part = None
        if part is not None:
            self.hits += 1
            self.moved += part.line != line
            for loc, message in part.warnings:
                diags.warning(loc, message)
        else:
            part = _build(text, path, line, diags)
        out.extend(part.ready or map(_ready, part.statements))
        if len(part.statements) == 1 and part.statements[0].spec.name == CACHED:
            self.used[key] = part
            return key
        return None


def _build(text: str, path: str, line: int, diags: Diagnostics) -> Part:
    before = len(diags.items)
    nodes = parse(tokenize_text(text, path, diags, None, None, line), TOP, diags)
    built = []
    for node in nodes:
        values, _locs = collect(_root([node]), diags)
        if node.spec.attr in values:
            value = values[node.spec.attr]
            built.append(Built(node.spec, value[0] if node.spec.repeat else value, node.loc))
    if diags.errors:
        raise NotCut(path)
    return Part(tuple(built), line, tuple((d.location, d.message) for d in diags.items[before:]),
                tuple(map(_ready, built)))


def _root(children: list) -> Statement:
    return Statement(Token(WORD, "", Location("", 1, 1), True), [], Keyword("", None, (0, 0), block=TOP), children)


class _Ready(Statement):
    """A statement built already: its keyword's convert answers the value (``collect`` takes it as any)."""

    __slots__ = ("value",)


_READY_SPECS: dict[str, Keyword] = {}


def _ready(built: Built) -> Statement:
    spec = _READY_SPECS.get(built.spec.name)
    if spec is None or spec.attr != built.spec.attr:
        spec = _READY_SPECS[built.spec.name] = dataclasses.replace(
            built.spec, convert=lambda stmt, _diags: stmt.value, check=None)
    stmt = _Ready(Token(WORD, built.spec.name, built.loc, True), [], spec)
    stmt.value = built.value
    return stmt
