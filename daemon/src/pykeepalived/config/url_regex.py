"""HTTP_GET/SSL_GET ``regex``: keepalived's PCRE2 options mapped onto Python's ``re``.

keepalived 2.2.7 compiles a url's ``regex`` with PCRE2 and the options named
by ``regex_options``.  Those with a ``re`` flag of the same meaning map to it;
those that only steer PCRE2's optimiser or forbid a PCRE2-only construct
change no match here; the rest would match differently and are refused.
Without ``utf`` the body is matched as bytes (PCRE2's default: one byte a
character); with ``utf`` it is decoded as UTF-8 (a body that is not UTF-8
does not match), and without ``ucp`` ``\\w``, ``\\d``... stay ASCII.

keepalived reads the regex line again with its own quoting: a bare word
loses its single quotes and takes C escapes (``\\\\d`` is ``\\d``, ``\\t`` a tab,
``\\x41`` an ``A``); :func:`unescape_word` does the same to a bare word.
"""

from __future__ import annotations

import re

FLAGS = {"caseless": re.IGNORECASE, "dotall": re.DOTALL, "extended": re.VERBOSE, "multiline": re.MULTILINE}
# PCRE2 optimiser switches, and bans on constructs Python's re does not have: no change of match
NO_EFFECT = frozenset({"auto_callout", "never_backslash_c", "never_ucp", "never_utf", "no_auto_possess",
                       "no_dotstar_anchor", "no_start_optimize"})
TEXT = frozenset({"utf", "ucp"})
REFUSED = {
    "allow_empty_class": "Python's re reads ']' first in a class as a literal",
    "alt_bsux": "Python's re has no JavaScript escapes",
    "alt_circumflex": "Python's re has no such multiline '^'",
    "alt_verbnames": "Python's re has no backtracking verbs",
    "dollar_endonly": "Python's re has no flag for it: write \\Z",
    "dupnames": "Python's re allows no duplicate group names",
    "firstline": "Python's re has no flag for it",
    "match_unset_backref": "Python's re has no flag for it",
    "no_auto_capture": "Python's re has no flag for it: write (?:...)",
    "ungreedy": "Python's re has no flag for it: write lazy quantifiers (*?)",
    "use_offset_limit": "keepalived sets no offset limit: use regex_max_offset",
}
OPTIONS = frozenset(FLAGS) | NO_EFFECT | TEXT | frozenset(REFUSED)

_C_ESCAPES = {"a": "\a", "b": "\b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_HEX = frozenset("0123456789abcdefABCDEF")


def option_problem(name: str) -> str | None:
    """Why a ``regex_options`` word cannot be honoured, or None."""
    if name in REFUSED:
        return f"regex option '{name}' is not supported: {REFUSED[name]}"
    if name not in OPTIONS:
        return f"unknown regex option '{name}' (one of: {', '.join(sorted(OPTIONS))})"
    return None


def compile_regex(pattern: str, options: tuple[str, ...]) -> re.Pattern:
    """The pattern as ``re`` compiles it (bytes unless ``utf``); raises ValueError."""
    for name in options:
        problem = option_problem(name)
        if problem:
            raise ValueError(problem)
    if "ucp" in options and "utf" not in options:
        raise ValueError("regex option 'ucp' without 'utf' is not supported (PCRE2's Latin-1 properties)")
    flags = 0
    for name in options:
        flags |= FLAGS.get(name, 0)
    try:
        if "utf" in options:
            return re.compile(pattern, flags | (0 if "ucp" in options else re.ASCII))
        return re.compile(pattern.encode("utf-8", "surrogateescape"), flags)
    except re.error as err:
        where = f" at offset {err.pos}" if err.pos is not None else ""
        raise ValueError(f"regex '{pattern}' does not compile{where}: {err.msg}") from None


def _byte(value: int) -> str:
    """One byte of the pattern: above 0x7f as a surrogate, which encodes back to that byte alone."""
    return chr(value) if value < 0x80 else chr(0xDC00 + value)


def unescape_word(word: str) -> str:
    """A bare word as keepalived's quoted-escaped reader returns it (quotes dropped, C escapes)."""
    out: list[str] = []
    i, quote = 0, ""
    while i < len(word):
        c = word[i]
        i += 1
        if c == "\\" and i < len(word):
            c = word[i]
            i += 1
            if c == "x" and i < len(word) and word[i] in _HEX:
                j = i
                while j < len(word) and word[j] in _HEX:
                    j += 1
                out.append(_byte(int(word[i:j], 16) & 0xFF))  # keepalived keeps the last byte's worth
                i = j
            elif c == "c" and i < len(word):
                out.append(chr(ord(word[i]) & 0x1F))
                i += 1
            elif "0" <= c <= "7":
                j = i
                while j < len(word) and j < i + 2 and "0" <= word[j] <= "7":
                    j += 1
                out.append(_byte(int(c + word[i:j], 8) & 0xFF))
                i = j
            else:
                out.append(_C_ESCAPES.get(c, c))
        elif c == "\\":
            raise ValueError("a backslash at the end of the regex escapes nothing")
        elif quote and c == quote:
            quote = ""
        elif not quote and c in "'\"":
            quote = c
        else:
            out.append(c)
    if quote:
        raise ValueError(f"missing terminating {quote} (a regex with a space: write it in double quotes)")
    return "".join(out)


def search(regex: re.Pattern, body: bytes, min_offset: int = 0, max_offset: int | None = None) -> bool:
    """keepalived's test: a match starting at or after ``min_offset`` and at or before ``max_offset``
    (a lookbehind may still look before ``min_offset``, as with PCRE2's start offset)."""
    subject: bytes | str = body
    if isinstance(regex.pattern, str):
        try:
            subject = body.decode("utf-8")
        except UnicodeDecodeError:
            return False  # PCRE2 with UTF fails on such a subject: keepalived sees no match
        if min_offset:  # offsets are byte offsets, as in PCRE2
            min_offset = len(body[:min_offset].decode("utf-8", "ignore"))
    found = regex.search(subject, min_offset)
    if found is None:
        return False
    if max_offset is None:
        return True
    start = found.start() if isinstance(subject, bytes) else len(subject[:found.start()].encode("utf-8"))
    return start <= max_offset
