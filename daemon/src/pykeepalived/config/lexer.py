"""Tokenizer for keepalived.conf, with ``include`` expanded in place.

keepalived's rules, as its man page states them: ``!`` and ``#`` start a
comment that runs to the end of the line; strings may be double-quoted;
``{`` and ``}`` delimit blocks and may touch the word before them
(``VG_1{``). We treat ``!``/``#`` as a comment only at the start of a token,
so a password such as ``pa#ss`` survives (keepalived would cut it).

Files are read as UTF-8. A byte that does not decode, or a control
character (NUL, ESC, DEL...), inside a token is an error located at its
own column; the token is kept, with U+FFFD in its place, so the statement
around it still parses, and problems later found at that token are not
reported again (Diagnostics.taint). In comments such bytes are harmless
(keepalived never reads them) and are let be.
"""

from __future__ import annotations

import glob
import os
import re
from typing import NamedTuple

from .errors import ConfigError, Diagnostics, Location
from .preprocess import Preprocessor

WORD, STRING, LBRACE, RBRACE = "word", "string", "{", "}"

# Tokens of one line: a quoted string, an unterminated one, a brace, a
# comment (runs to the end of the line) or a bare word.
_TOKEN_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"|"[^\n]*|[{}]|[!#][^\n]*|[^\s{}"]+')
_ESCAPE_RE = re.compile(r"\\(.)")
# Undecodable bytes (surrogateescape maps byte 0xNN to U+DCNN) and control
# characters other than the tab; whitespace ones never get inside a word,
# only inside a quoted string.
_BAD_CHAR_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\udc80-\udcff]")
_CONTROL_NAMES = {0: "NUL", 0x1B: "ESC", 0x7F: "DEL"}

MAX_INCLUDE_DEPTH = 8


class Token(NamedTuple):
    """A token; ``first`` is true when it is the first token on its line."""

    kind: str
    text: str
    loc: Location
    first: bool

    @property
    def is_value(self) -> bool:
        return self.kind is WORD or self.kind is STRING


def _plain_lines(text: str, first_line: int = 1):
    for lineno, line in enumerate(text.split("\n"), first_line):
        yield lineno, line[:-1] if line.endswith("\r") else line  # CRLF, as keepalived (isspace) takes it


def tokenize_text(text: str, filename: str, diags: Diagnostics, pre: Preprocessor | None = None,
                  stack: tuple[str, ...] | None = None, first_line: int = 1) -> list[Token]:
    """Split one file's text into tokens.

    ``first_line``: the file's line number of the text's first line, for a part of a file
    (config/blocks.py); a part is never preprocessed.

    With ``pre``, lines go through keepalived's preprocessor (@ID, $PARAM) first.
    With ``stack`` (the files being read), ``include`` lines are expanded where
    they stand, so parameters defined before an include apply inside it and
    those it defines apply after it, as in keepalived.
    """
    tokens: list[Token] = []
    append = tokens.append
    new = tuple.__new__  # Token(...) and Location(...) without their Python-level __new__: 2 per token
    tok_cls, loc_cls = Token, Location
    preprocessed = pre is not None and ("$" in text or "@" in text or "~" in text)
    lines = pre.lines(text, filename, diags) if preprocessed else _plain_lines(text, first_line)
    # one scan of the file, not one per line (substituted lines may bring what the text lacks)
    any_bad = preprocessed or _BAD_CHAR_RE.search(text) is not None
    finditer = _TOKEN_RE.finditer
    for lineno, line in lines:
        if diags.gave_up:  # too many errors: the parser stops too
            break
        first = True
        start = len(tokens)
        suspect = any_bad and _BAD_CHAR_RE.search(line) is not None
        for m in finditer(line):
            raw = m.group()
            c = raw[0]
            if c == "!" or c == "#":
                break
            loc = new(loc_cls, (filename, lineno, m.start() + 1))
            if c == '"' and (len(raw) < 2 or raw[-1] != '"' or _odd_backslashes(raw)):
                diags.error(loc, "unterminated quoted string")
                if suspect:
                    _report_bad_chars(raw, loc, diags)
                break
            if suspect and _BAD_CHAR_RE.search(raw):
                raw = _report_bad_chars(raw, loc, diags)
                if diags.gave_up:
                    break
            if c == '"':
                append(new(tok_cls, (STRING, _ESCAPE_RE.sub(r"\1", raw[1:-1]), loc, first)))
            elif c == "{":
                append(new(tok_cls, (LBRACE, raw, loc, first)))
            elif c == "}":
                append(new(tok_cls, (RBRACE, raw, loc, first)))
            else:
                append(new(tok_cls, (WORD, raw, loc, first)))
            first = False
        if stack is not None and len(tokens) > start and tokens[start].kind is WORD \
                and tokens[start].text == "include":
            line_tokens = tokens[start:]
            del tokens[start:]
            tokens.extend(expand_includes(line_tokens, filename, diags, stack, pre))
    return tokens


def _report_bad_chars(raw: str, loc: Location, diags: Diagnostics) -> str:
    """One error per bad character (until there are too many); the token with U+FFFD for each."""
    for m in _BAD_CHAR_RE.finditer(raw):
        if diags.gave_up:
            break
        code = ord(m.group())
        where = Location(loc.file, loc.line, loc.col + m.start())
        if code >= 0xDC80:
            diags.error(where, f"invalid UTF-8 byte 0x{code - 0xDC00:02x} (the file must be UTF-8)")
        else:
            name = _CONTROL_NAMES.get(code, f"U+{code:04X}")
            diags.error(where, f"control character {name} (0x{code:02x}) in a word or string")
    diags.taint(loc)
    return _BAD_CHAR_RE.sub("\ufffd", raw)


def _odd_backslashes(raw: str) -> bool:
    """True when the closing quote is escaped (``"abc\\"``)."""
    n = len(raw) - 1 - len(raw[:-1].rstrip("\\"))
    return n % 2 == 1


def read_config_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig", errors="surrogateescape") as fh:  # -sig: a leading BOM is not a word
            return fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc


def tokenize_file(path: str, diags: Diagnostics, _stack: tuple[str, ...] = (),
                  pre: Preprocessor | None = None) -> list[Token]:
    """Tokenize ``path`` and every file it includes, in order (``pre``: keepalived's @ID/$PARAM state)."""
    text = read_config_text(path)
    return tokenize_text(text, path, diags, pre if pre is not None else Preprocessor(),
                         _stack + (os.path.realpath(path),))


def expand_includes(tokens: list[Token], path: str, diags: Diagnostics,
                    stack: tuple[str, ...], pre: Preprocessor | None = None) -> list[Token]:
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not (tok.first and tok.kind == WORD and tok.text == "include"):
            out.append(tok)
            i += 1
            continue
        if i + 1 >= len(tokens) or tokens[i + 1].first or not tokens[i + 1].is_value:
            diags.error(tok.loc, "include needs a file name or glob pattern")
            i += 1
            continue
        pattern_tok = tokens[i + 1]
        i += 2
        out.extend(_include(pattern_tok, path, diags, stack, pre))
    return out


def _include(pattern_tok: Token, path: str, diags: Diagnostics,
             stack: tuple[str, ...], pre: Preprocessor | None) -> list[Token]:
    out: list[Token] = []
    for match in included_files(pattern_tok, path, diags, stack):
        try:
            out.extend(tokenize_file(match, diags, stack, pre))
        except ConfigError as exc:
            diags.error(pattern_tok.loc, exc.message)
    return out


def included_files(pattern_tok: Token, path: str, diags: Diagnostics, stack: tuple[str, ...]) -> list[str]:
    """The files an ``include`` names, in order; what is wrong with the pattern or a match is reported."""
    pattern = pattern_tok.text
    if not os.path.isabs(pattern):  # relative to the including file, as keepalived does
        pattern = os.path.join(os.path.dirname(path), pattern)
    matches = sorted(glob.glob(pattern))
    if not matches:
        if not glob.has_magic(pattern):
            diags.error(pattern_tok.loc, f"include: no such file: {pattern}")
        return []
    if len(stack) >= MAX_INCLUDE_DEPTH:
        diags.error(pattern_tok.loc, f"include nested deeper than {MAX_INCLUDE_DEPTH} levels")
        return []
    out: list[str] = []
    for match in matches:
        if os.path.isdir(match):
            continue
        if not os.path.isfile(match):  # /dev/zero or a FIFO would never end
            diags.error(pattern_tok.loc, f"include: {match} is not a regular file")
            continue
        if os.path.realpath(match) in stack:
            diags.error(pattern_tok.loc, f"include loop: {match} includes itself")
            continue
        out.append(match)
    return out
