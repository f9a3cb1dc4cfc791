"""Keyword value functions shared by every block (ExaBGP style: one small
function per value type, returning a typed value or raising ConfigError
that says what was wrong and where)."""

from __future__ import annotations

import ipaddress
import math
import os
import re
import shlex
import socket
from collections.abc import Callable
from typing import Any

import voluptuous as vol

from ..errors import ConfigError, Diagnostics, shown
from ..grammar import IGNORED, BlockSpec, ItemSpec, Keyword, Statement
from ..lexer import Token
from ..model_vrrp import Script

Convert = Callable[[Statement, Diagnostics], Any]

TRUE_WORDS = frozenset({"on", "true", "yes"})
FALSE_WORDS = frozenset({"off", "false", "no"})
# Characters that only mean something to a shell; scripts are run without one.
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh"})
SHELL_SYNTAX = re.compile(r"(&&|\|\||[|;<>`]|\$\(|^\[\[$|^\]\]$)")


def arg(stmt: Statement, i: int = 0) -> Token:
    return stmt.args[i]


# ASCII digits only, as keepalived's strtol reads them: Python's int() and
# float() would also take "1_000", "infinity" and other scripts' digits.
INT_RE = re.compile(r"[+-]?[0-9]+")
FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
MAX_DIGITS = 1000  # far beyond every range we check; int() of more only costs time
def parse_int(tok: Token, what: str = "an integer") -> int:
    if not INT_RE.fullmatch(tok.text):
        raise ConfigError(f"expected {what}, got '{shown(tok.text)}'", tok.loc)
    if len(tok.text) > MAX_DIGITS:
        raise ConfigError(f"{what} with {len(tok.text)} digits is out of any range", tok.loc)
    return int(tok.text, 10)


def parse_float(tok: Token) -> float:
    if not FLOAT_RE.fullmatch(tok.text):
        raise ConfigError(f"expected a number, got '{shown(tok.text)}'", tok.loc)
    if len(tok.text) > MAX_DIGITS:
        raise ConfigError(f"a number with {len(tok.text)} characters is out of any range", tok.loc)
    value = float(tok.text)
    if not math.isfinite(value):
        raise ConfigError(f"expected a finite number, got '{shown(tok.text)}'", tok.loc)
    return value


def parse_ip(tok: Token) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:  # inet_pton is strict (dotted quad only) and much faster than ipaddress' parser
        return ipaddress.IPv4Address(socket.inet_pton(socket.AF_INET, tok.text))
    except (OSError, ValueError):  # ValueError: a NUL or a character UTF-8 cannot encode
        pass
    try:
        return ipaddress.ip_address(tok.text)
    except ValueError:
        raise ConfigError(f"'{shown(tok.text)}' is not an IPv4 or IPv6 address", tok.loc) from None


def parse_bool(tok: Token) -> bool:
    word = tok.text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"expected on|off|true|false|yes|no, got '{shown(tok.text)}'", tok.loc)


# -- converters: (stmt, diags) -> value ---------------------------------------

def integer(stmt: Statement, _d: Diagnostics) -> int:
    return parse_int(arg(stmt))


def number(stmt: Statement, _d: Diagnostics) -> float:
    return parse_float(arg(stmt))


def text(stmt: Statement, _d: Diagnostics) -> str:
    return arg(stmt).text


def words(stmt: Statement, _d: Diagnostics) -> tuple[str, ...]:
    return tuple(t.text for t in stmt.args)


def flag(stmt: Statement, _d: Diagnostics) -> bool:
    return True


def off(stmt: Statement, _d: Diagnostics) -> bool:
    return False


def optional_bool(stmt: Statement, _d: Diagnostics) -> bool:
    """``keyword [on|off|true|false|yes|no]``: bare keyword means true."""
    return parse_bool(arg(stmt)) if stmt.args else True


def bare_or(word: str, bare: str):
    """``keyword [WORD]``: ``bare`` when the keyword stands alone, ``word`` when it is given
    (keepalived's spelling, case and all), an error for anything else."""

    def convert(stmt: Statement, _d: Diagnostics) -> str:
        if not stmt.args:
            return bare
        tok = arg(stmt)
        if tok.text != word:
            raise ConfigError(f"takes nothing or '{word}', got '{shown(tok.text)}'", tok.loc)
        return word

    return convert


def ip(stmt: Statement, _d: Diagnostics):
    return parse_ip(arg(stmt))


def port(tok: Token) -> int:
    value = parse_int(tok, "a port number")
    if not 0 <= value <= 65535:
        raise ConfigError(f"port {value} out of range 0-65535", tok.loc)
    return value


def choice(*allowed: str, fold: Callable[[str], str] = str.upper) -> Convert:
    """A keyword whose value is one of ``allowed`` (compared case-insensitively)."""

    def convert(stmt: Statement, _d: Diagnostics) -> str:
        tok = arg(stmt)
        value = fold(tok.text)
        if value not in allowed:
            raise ConfigError(f"must be one of {'|'.join(allowed)}, got '{shown(tok.text)}'", tok.loc)
        return value

    return convert


def script(stmt: Statement, _d: Diagnostics) -> Script:
    """``keyword <STRING>|<QUOTED-STRING> [username [groupname]]``."""
    return make_script(arg(stmt), [t.text for t in stmt.args[1:]])


def make_script(tok: Token, owner: list[str]) -> Script:
    try:
        argv = tuple(shlex.split(tok.text))
    except ValueError as exc:
        raise ConfigError(f"cannot split command '{shown(tok.text)}': {exc}", tok.loc) from None
    if not argv:
        raise ConfigError("empty command", tok.loc)
    shell_c = os.path.basename(argv[0]) in SHELLS and "-c" in argv
    for word in () if shell_c else argv:
        if SHELL_SYNTAX.search(word):
            raise ConfigError(
                f"'{shown(tok.text)}' uses shell syntax ('{word}'), but scripts run without a shell; "
                "put the logic in a script file or use: \"/bin/sh -c '...'\"", tok.loc)
    return Script(argv, owner[0] if owner else None, owner[1] if len(owner) > 1 else None, tok.loc)


def user(stmt: Statement, _d: Diagnostics) -> tuple[str, ...]:
    return tuple(t.text for t in stmt.args)


# -- voluptuous checks --------------------------------------------------------

def in_range(lo: float, hi: float) -> Any:
    return vol.Schema(vol.Range(min=lo, max=hi))


def max_len(n: int) -> Any:
    return vol.Schema(vol.Length(max=n))


POSITIVE = in_range(0, 2**31 - 1)
PORT = in_range(0, 65535)


def kw(name: str, convert: Convert | None, nargs: tuple[int, int] = (1, 1), *,
       field: str | None = None, block: BlockSpec | ItemSpec | None = None,
       repeat: bool = False, check: Any = None) -> Keyword:
    return Keyword(name, convert, nargs, field, block, repeat, check)


def flag_kw(name: str, field: str | None = None) -> Keyword:
    return Keyword(name, flag, (0, 0), field)


def obsolete_kw(name: str, nargs: tuple[int, int], why: str) -> Keyword:
    """A keyword keepalived 2 no longer acts on: a warning, then ignored (as keepalived does)."""

    def convert(stmt: Statement, diags: Diagnostics) -> object:
        diags.warning(stmt.loc, f"{name} is obsolete ({why}): ignored, as keepalived 2 ignores it")
        return IGNORED

    return Keyword(name, convert, nargs)


def _always(stmt: Statement, _d: Diagnostics) -> object:
    return IGNORED


def always_kw(name: str) -> Keyword:
    """A bare keyword asking for what pykeepalived always does: accepted, nothing to store."""
    return Keyword(name, _always, (0, 0))


def off_kw(name: str, field: str) -> Keyword:
    """``no_X``: a bare keyword that sets ``field`` false (keepalived's accept / no_accept)."""
    return Keyword(name, off, (0, 0), field)


def bool_kw(name: str, field: str | None = None) -> Keyword:
    return Keyword(name, optional_bool, (0, 1), field)
