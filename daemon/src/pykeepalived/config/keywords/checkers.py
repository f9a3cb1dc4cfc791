"""Health checker blocks inside real_server (keepalived.conf(5), "CHECKER_TYPE").

One BlockSpec per checker: the common connection/timing options plus each
checker's own keywords.
"""

from __future__ import annotations

import re

from ..build import collect, require
from ..errors import ConfigError, Diagnostics, shown
from ..grammar import BlockSpec, Statement
from ..lexer import WORD
from ..model_lvs import (
    CheckerCommon,
    DnsCheck,
    FileCheck,
    HttpCheck,
    MiscCheck,
    PingCheck,
    SmtpCheck,
    SmtpHost,
    SslClient,
    TcpCheck,
    UdpCheck,
    Url,
)
from ..ssl_client import client_context
from ..url_regex import compile_regex, option_problem, unescape_word
from . import bfd
from .common import (
    POSITIVE,
    arg,
    bool_kw,
    choice,
    flag_kw,
    in_range,
    integer,
    ip,
    kw,
    number,
    parse_int,
    port,
    script,
    text,
    user,
)

TIMER = in_range(0, 86400)


def _port(stmt: Statement, _d: Diagnostics) -> int:
    return port(arg(stmt))


TIMING_KEYWORDS = [
    kw("connect_timeout", number, check=in_range(0.001, 86400)),
    kw("retry", integer, check=POSITIVE),
    kw("delay_before_retry", number, check=TIMER),
    kw("warmup", number, check=TIMER),
    kw("delay_loop", number, check=in_range(0.001, 86400)),
    bool_kw("alpha"),
    bool_kw("log_all_failures"),
]
CONNECTION_KEYWORDS = [
    kw("connect_ip", ip),
    kw("connect_port", _port),
    kw("bindto", ip),
    kw("bind_port", _port),
    kw("bind_if", text),
    kw("fwmark", integer, check=in_range(1, 2**32 - 1)),
]
ALIASES = {"nb_get_retry": "retry"}

DIGEST_RE = re.compile(r"^[0-9a-fA-F]{32}$")
CODE_RE = re.compile(r"^(\d{3})(?:-(\d{3}))?$")


def _digest(stmt: Statement, _d: Diagnostics) -> str:
    tok = arg(stmt)
    if not DIGEST_RE.match(tok.text):
        raise ConfigError(f"digest must be 32 hex digits (an MD5 sum, see genhash), got '{shown(tok.text)}'", tok.loc)
    return tok.text.lower()


def _status_codes(stmt: Statement, _d: Diagnostics) -> tuple[tuple[int, int], ...]:
    out = []
    for tok in stmt.args:
        m = CODE_RE.match(tok.text)
        lo, hi = (int(m.group(1)), int(m.group(2) or m.group(1))) if m else (0, 0)
        if not m or not (100 <= lo <= hi <= 599):
            raise ConfigError(f"status_code must be NNN or NNN-NNN within 100-599, got '{shown(tok.text)}'", tok.loc)
        out.append((lo, hi))
    return tuple(out)


def _path(stmt: Statement, _d: Diagnostics) -> str:
    tok = arg(stmt)
    if not tok.text.startswith("/"):
        raise ConfigError(f"url path must start with '/', got '{shown(tok.text)}'", tok.loc)
    return tok.text


def _regex(stmt: Statement, _d: Diagnostics) -> str:
    """keepalived re-reads this line with its own quoting: a bare word takes C escapes."""
    tok = arg(stmt)
    if tok.kind != WORD:
        return tok.text
    try:
        return unescape_word(tok.text)
    except ValueError as err:
        raise ConfigError(str(err), tok.loc) from None


def _regex_options(stmt: Statement, _d: Diagnostics) -> tuple[str, ...]:
    for tok in stmt.args:
        problem = option_problem(tok.text)
        if problem:
            raise ConfigError(problem, tok.loc)
    return tuple(dict.fromkeys(t.text for t in stmt.args))


def _offset(stmt: Statement, _d: Diagnostics) -> int:
    tok = arg(stmt)
    value = parse_int(tok, "a byte offset")
    if value < 0:
        raise ConfigError(f"a byte offset cannot be negative, got {value}", tok.loc)
    return value


def _regex_stack(stmt: Statement, _d: Diagnostics) -> tuple[int, int]:
    start, most = (parse_int(tok, "a stack size") for tok in stmt.args)
    if start < 0 or start > most:
        raise ConfigError(f"regex_stack START MAX: need 0 <= start <= max, got {start} {most}", stmt.loc)
    return start, most


URL = BlockSpec("url").add(
    kw("path", _path),
    kw("digest", _digest),
    kw("status_code", _status_codes, (1, 32)),
    kw("virtualhost", text),
    kw("regex", _regex),
    flag_kw("regex_no_match"),
    kw("regex_options", _regex_options, (1, 32)),
    kw("regex_min_offset", _offset),
    kw("regex_max_offset", _offset),
    kw("regex_stack", _regex_stack, (2, 2)),
)
REGEX_DETAILS = ("regex_no_match", "regex_options", "regex_min_offset", "regex_max_offset", "regex_stack")


def _url(stmt: Statement, diags: Diagnostics) -> Url:
    values, locs = collect(stmt, diags)
    require(stmt, values, "path")
    if "regex" in values:
        try:
            compile_regex(values["regex"], values.get("regex_options", ()))
        except ValueError as err:
            where = next(c.args[0].loc for c in stmt.children if c.spec.attr == "regex")
            raise ConfigError(str(err), where) from None
    elif not any(child.spec.attr == "regex" for child in stmt.children or ()):  # not a bad regex: none
        stray = next((name for name in REGEX_DETAILS if name in values), None)
        if stray is not None:  # keepalived logs this and drops them
            raise ConfigError(f"{stray} without regex in this url", locs[stray])
    low, high = values.get("regex_min_offset"), values.get("regex_max_offset")
    if low is not None and high is not None and low > high:
        raise ConfigError(f"regex_min_offset {low} is above regex_max_offset {high}: nothing could match",
                          locs["regex_min_offset"])
    return Url(**values, loc=stmt.loc, locs=locs)


def _block(name: str, *extra) -> BlockSpec:
    return BlockSpec(name).add(*TIMING_KEYWORDS, *CONNECTION_KEYWORDS, *extra, aliases=ALIASES)


TCP_CHECK = _block("TCP_CHECK")
PING_CHECK = _block("PING_CHECK")
HTTP_EXTRA = [
    kw("url", _url, (0, 0), block=URL, repeat=True),
    kw("virtualhost", text),
    kw("http_protocol", choice("1.0", "1.0C", "1.1")),
    bool_kw("fast_recovery"),
]
HTTP_GET = _block("HTTP_GET", *HTTP_EXTRA)
SSL_GET = _block("SSL_GET", *HTTP_EXTRA, flag_kw("enable_sni"))
SSL = BlockSpec("SSL").add(kw("ca", text), kw("certificate", text), kw("key", text), kw("password", text))


def build_ssl(stmt: Statement, diags: Diagnostics) -> SslClient:
    """The top-level ``SSL { }`` block; its files are read now, so a bad one fails at its line."""
    values, locs = collect(stmt, diags)
    for name in ("certificate", "key", "ca"):
        if name in values:
            try:
                with open(values[name], "rb"):
                    pass
            except OSError as err:
                raise ConfigError(f"SSL {name} '{shown(values[name])}': {err.strerror}", locs[name]) from None
    client = SslClient(**values, loc=stmt.loc, locs=locs)
    try:
        client_context(client)
    except (OSError, ValueError) as err:  # ssl.SSLError is an OSError
        raise ConfigError(f"SSL: cannot use these files: {err}", stmt.loc) from None
    return client
SMTP_HOST = BlockSpec("host").add(*CONNECTION_KEYWORDS, TIMING_KEYWORDS[0])


def _smtp_host(stmt: Statement, diags: Diagnostics) -> SmtpHost:
    values, locs = collect(stmt, diags)
    return SmtpHost(**values, loc=stmt.loc, locs=locs)


SMTP_CHECK = _block("SMTP_CHECK", kw("helo_name", text),
                    kw("host", _smtp_host, (0, 0), field="hosts", block=SMTP_HOST, repeat=True))

HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
MAX_HEX_BYTES = 65507  # the largest UDP payload over IPv4


def hex_string(stmt: Statement, wildcard: bool) -> str:
    """keepalived's free-format hex (``Ab12f 3 456`` = AB 12 0F 03 45 06) in canonical form.

    Each word is read two digits a byte, an odd last digit being a byte of its own;
    with ``wildcard`` an ``x`` stands for a nibble the reply may have any value in.
    The canonical form has two characters a byte, lower case, separated by spaces.
    """
    out: list[str] = []
    for tok in stmt.args:
        for i in range(0, len(tok.text), 2):
            pair = tok.text[i:i + 2].lower()
            bad = [c for c in pair if c not in HEX_DIGITS and not (wildcard and c == "x")]
            if bad:
                allowed = "hex digits or x" if wildcard else "hex digits"
                raise ConfigError(f"'{shown(bad[0])}' in '{shown(tok.text)}' is not one of {allowed}", tok.loc)
            out.append(pair.rjust(2, "0"))
    if len(out) > MAX_HEX_BYTES:
        raise ConfigError(f"{len(out)} bytes is more than a UDP datagram carries ({MAX_HEX_BYTES})", stmt.loc)
    return " ".join(out)


def _payload(stmt: Statement, _d: Diagnostics) -> str:
    return hex_string(stmt, wildcard=False)


def _require_reply(stmt: Statement, _d: Diagnostics) -> str:
    return hex_string(stmt, wildcard=True) if stmt.args else ""


REPLY_LENGTH = in_range(0, 65535)
UDP_CHECK = _block("UDP_CHECK",
                   kw("payload", _payload, (1, 1000)),
                   kw("require_reply", _require_reply, (0, 1000)),
                   kw("min_reply_length", integer, check=REPLY_LENGTH),
                   kw("max_reply_length", integer, check=REPLY_LENGTH))

FILE_CHECK_WEIGHT = 2**31 - 1  # keepalived: -2147483647..2147483647


def _file_weight(stmt: Statement, _d: Diagnostics) -> tuple[int, bool]:
    """``weight N [reverse|noreverse]``."""
    value = parse_int(arg(stmt))
    if not -FILE_CHECK_WEIGHT <= value <= FILE_CHECK_WEIGHT:
        raise ConfigError(f"{value} out of range {-FILE_CHECK_WEIGHT}..{FILE_CHECK_WEIGHT}", arg(stmt).loc)
    if len(stmt.args) > 1 and arg(stmt, 1).text not in ("reverse", "noreverse"):
        raise ConfigError(f"expected 'reverse' after the weight, got '{shown(arg(stmt, 1).text)}'", arg(stmt, 1).loc)
    return value, len(stmt.args) > 1 and arg(stmt, 1).text == "reverse"


FILE_CHECK = BlockSpec("FILE_CHECK").add(
    kw("track_file", text),
    kw("weight", _file_weight, (1, 2)),
    flag_kw("dynamic"),
)
DNS_CHECK = _block("DNS_CHECK",
                   kw("type", choice("A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA")),
                   kw("name", text))
MISC_CHECK = BlockSpec("MISC_CHECK").add(
    *TIMING_KEYWORDS,
    kw("misc_path", script, (1, 1)),
    kw("misc_timeout", number, check=in_range(0.001, 86400)),
    flag_kw("misc_dynamic"),
    kw("user", user, (1, 2)),
    aliases=ALIASES,
)

CLASSES: dict[str, type[CheckerCommon]] = {
    "TCP_CHECK": TcpCheck, "PING_CHECK": PingCheck, "HTTP_GET": HttpCheck, "SSL_GET": HttpCheck,
    "SMTP_CHECK": SmtpCheck, "DNS_CHECK": DnsCheck, "MISC_CHECK": MiscCheck, "UDP_CHECK": UdpCheck,
}
SPECS = {"TCP_CHECK": TCP_CHECK, "PING_CHECK": PING_CHECK, "HTTP_GET": HTTP_GET, "SSL_GET": SSL_GET,
         "SMTP_CHECK": SMTP_CHECK, "DNS_CHECK": DNS_CHECK, "MISC_CHECK": MISC_CHECK, "UDP_CHECK": UDP_CHECK,
         "FILE_CHECK": FILE_CHECK}


def build_checker(stmt: Statement, diags: Diagnostics) -> CheckerCommon | FileCheck:
    values, locs = collect(stmt, diags)
    kind = stmt.name
    if kind == "FILE_CHECK":
        require(stmt, values, "track_file")
        weight, reverse = values.pop("weight", (None, False))
        return FileCheck(**values, weight=weight, weight_reverse=reverse, loc=stmt.loc, locs=locs)
    if kind == "SMTP_CHECK":
        values["hosts"] = tuple(values.get("hosts", ()))
    if kind == "UDP_CHECK" and values.get("min_reply_length", 0) > values.get("max_reply_length", 255):
        raise ConfigError("min_reply_length is above max_reply_length: the check could never succeed",
                          locs.get("min_reply_length", stmt.loc))
    if kind in ("HTTP_GET", "SSL_GET"):
        if "url" not in values:
            raise ConfigError(f"{kind}: needs at least one url {{ path ... }} block", stmt.loc)
        values["url"] = tuple(values["url"])
        values["kind"] = kind
    if kind == "MISC_CHECK":
        require(stmt, values, "misc_path")
    return CLASSES[kind](**values, loc=stmt.loc, locs=locs)


CHECKER_KEYWORDS = [kw(name, build_checker, (0, 0), field="checkers", block=spec, repeat=True)
                    for name, spec in SPECS.items()]
CHECKER_KEYWORDS.append(kw("BFD_CHECK", bfd.build_bfd_check, (0, 0), field="checkers", block=bfd.BFD_CHECK,
                           repeat=True))  # keywords/bfd.py
