# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Emit keepalived.conf text. Writing only: the daemon's checker (pykeepalived -t) is
the one parser and validator of the language, so nothing here reads config text.

Rules followed (docs/config-reference.md, "Syntax"): one statement per line, blocks
indented by four blanks. Words follow the daemon's rule (config/render.py: ``SAFE``,
``quoted``, ``quote``, ``fmt``), copied here because modules cannot import the daemon;
tests/unit/test_contracts.py keeps the copy equal. A value with a character outside
``SAFE``, or a leading ! or #, is double-quoted with backslash escapes; an empty value
is "". The role's template writes through the same rule (the ``keepalived_word`` filter).
"""

from __future__ import annotations

import re

INDENT = "    "
SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@,+=%*?^~[]$&()<>|;'")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


class SyntaxValueError(ValueError):
    """A value that keepalived.conf cannot carry (a newline or another control character)."""


def quoted(value):
    """Always double-quoted, with backslash escapes (a script's command line)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote(value):
    """Bare when the lexer reads it back unchanged, else double-quoted."""
    if value and all(c in SAFE for c in value) and value[0] not in "!#":
        return value
    return quoted(value)


def fmt(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return quote(str(value))


def word(value) -> str:
    """One keepalived word for ``value`` (str, int, float or bool); a control character,
    which no word can carry, is refused here rather than by the daemon's -t."""
    if _UNSAFE.search(str(value)):
        raise SyntaxValueError(f"value {str(value)!r} contains a control character (newline, tab, ...)")
    return fmt(value)


class Block:
    """A keepalived block: ``HEAD... {`` statements and nested blocks ``}``."""

    def __init__(self, *head):
        self.head = [h for h in head if h is not None]
        self.body = []

    def add(self, keyword, *values):
        """``keyword value...`` on its own line; skipped when the first value is None."""
        if values and values[0] is None:
            return self
        self.body.append((keyword,) + tuple(v for v in values if v is not None))
        return self

    def flag(self, keyword, enabled):
        """A bare keyword (``nopreempt``) when ``enabled``."""
        if enabled:
            self.body.append((keyword,))
        return self

    def block(self, *head):
        """A nested block, returned so the caller fills it."""
        child = Block(*head)
        self.body.append(child)
        return child

    def lines(self, keyword, items):
        """``keyword { one item per line }``; each item is a tuple of words. Nothing when empty."""
        if items:
            child = self.block(keyword)
            for item in items:
                child.body.append(tuple(v for v in item if v is not None))
        return self

    def include(self, pattern):
        """``include PATTERN`` (the daemon splices included files at any line start)."""
        self.body.append(("include", pattern))
        return self

    def render(self, depth=0):
        pad = INDENT * depth
        out = [pad + " ".join([word(h) for h in self.head] + ["{"])]
        for item in self.body:
            if isinstance(item, Block):
                out.extend(item.render(depth + 1))
            else:
                out.append(INDENT * (depth + 1) + " ".join(word(w) for w in item))
        out.append(pad + "}")
        return out


def fragment_text(header, block):
    """A whole fragment file: a comment header and one top-level block."""
    return "".join(f"# {line}\n" for line in header) + "\n".join(block.render()) + "\n"


def apply_table(block, params, table):
    """Emit the simple options of ``table``: (option, keyword, kind), kind is
    ``value`` (keyword VALUE), ``flag`` (bare keyword when true) or ``onoff``."""
    for option, keyword, kind in table:
        value = params.get(option)
        if value is None:
            continue
        if kind == "flag":
            block.flag(keyword, value)
        elif kind == "onoff":
            block.add(keyword, "on" if value else "off")
        else:
            block.add(keyword, value)
    return block
