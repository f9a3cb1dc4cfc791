"""Route and rule lines: ``static_routes``, ``virtual_routes``, ``static_rules``, ``virtual_rules``.

A line is ip-route(8) / ip-rule(8) words, as keepalived 2 reads them
(keepalived.conf(5), "Static routes" and "Static rules").  The parser
hands over the whole line (ItemSpec with a wide head); the words are read
here, left to right, each option taking its value.  Every error points at
the word that is wrong.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from ..errors import ConfigError, Diagnostics, shown
from ..grammar import Item, ItemSpec, Statement
from ..lexer import Token
from ..model_vrrp import IPAddress, IPNetwork, Nexthop, Route, Rule
from .common import parse_int, parse_ip

LINE_WORDS = 255  # a line is all its words: the options are read here, not by the parser
ROUTE_ITEM = ItemSpec("routes", head_nargs=(LINE_WORDS, LINE_WORDS))
RULE_ITEM = ItemSpec("rules", head_nargs=(LINE_WORDS, LINE_WORDS))

TABLES = {"default": 253, "main": 254, "local": 255}  # linux/rtnetlink.h rt_class_t
SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
PROTOCOLS = {"redirect": 1, "kernel": 2, "boot": 3, "static": 4, "ra": 9, "dhcp": 16, "keepalived": 18}
ROUTE_TYPES = ("unicast", "blackhole", "unreachable", "prohibit", "throw")
RULE_ACTIONS = ("blackhole", "unreachable", "prohibit", "nop")
U32 = 2**32 - 1
# keepalived takes these too; we do not program them (an error says so rather than dropping them)
UNSUPPORTED_ROUTE = frozenset((
    "tos", "dsfield", "realms", "advmss", "rtt", "rttvar", "reordering", "window", "cwnd", "ssthresh",
    "initcwnd", "initrwnd", "features", "quickack", "congctl", "pref", "encap", "expires", "hoplimit",
    "fastopen_no_cookie", "ttl-propagate", "rto_min", "nhid", "local", "broadcast", "anycast",
    "multicast", "nat", "mpls", "lock"))
UNSUPPORTED_RULE = frozenset(("realms", "uidrange", "sport", "dport", "ipproto", "l3mdev", "map-to",
                              "nat", "tun_id", "type"))


class Words:
    """A cursor over one line's tokens."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.i = tokens, 0

    def more(self) -> bool:
        return self.i < len(self.tokens)

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def value(self, option: Token) -> Token:
        if not self.more():
            raise ConfigError(f"'{option.text}' needs a value", option.loc)
        return self.next()

    def peek(self) -> str:
        return self.tokens[self.i].text if self.more() else ""


def _number(tok: Token, lo: int, hi: int, what: str, names: dict[str, int] | None = None) -> int:
    if names and tok.text in names:
        return names[tok.text]
    try:
        value = int(tok.text, 0) if tok.text[:2].lower() == "0x" else parse_int(tok, what)
    except ValueError:
        raise ConfigError(f"expected {what}, got '{shown(tok.text)}'", tok.loc) from None
    if not lo <= value <= hi:
        known = f" or {'|'.join(names)}" if names else ""
        raise ConfigError(f"{what} {value} out of range {lo}-{hi}{known}", tok.loc)
    return value


def _table(tok: Token) -> int:
    if tok.text not in TABLES and not tok.text.isdigit():
        raise ConfigError(f"table '{shown(tok.text)}': give a number (1-{U32}) or main|local|default", tok.loc)
    return _number(tok, 1, U32, "a table", TABLES)


def _prefix(tok: Token) -> IPNetwork:
    try:
        return ipaddress.ip_network(tok.text, strict=False)
    except ValueError:
        raise ConfigError(f"'{shown(tok.text)}' is not an IP address or prefix", tok.loc) from None


def _same_family(family: int, addr: IPAddress | IPNetwork | None, tok: Token | None) -> None:
    if addr is not None and tok is not None and addr.version != family:
        raise ConfigError(f"'{tok.text}' is IPv{addr.version} in an IPv{family} line", tok.loc)


# -- routes ---------------------------------------------------------------------

def _nexthop(words: Words, opener: Token) -> tuple[Nexthop, Token | None]:
    hop, via_tok = Nexthop(), None
    while words.more() and words.peek() != "nexthop":
        tok = words.next()
        if tok.text in ("via", "gw"):
            via_tok = words.value(tok)
            hop.via = parse_ip(via_tok)
        elif tok.text == "dev":
            hop.dev = words.value(tok).text
        elif tok.text == "weight":
            hop.weight = _number(words.value(tok), 1, 256, "a weight")
        elif tok.text == "onlink":
            hop.onlink = True
        else:
            raise ConfigError(f"unknown nexthop option '{shown(tok.text)}' (via, dev, weight, onlink)", tok.loc)
    if hop.via is None and hop.dev is None:
        raise ConfigError("a nexthop needs 'via' or 'dev'", opener.loc)
    return hop, via_tok


def parse_route(item: Item) -> Route:
    words = Words(item.head)
    dst_tok: Token | None = None
    route = Route(ipaddress.ip_network("0.0.0.0/0"), loc=item.loc)
    addr_toks: list[tuple[IPAddress | IPNetwork, Token]] = []
    gw2: Token | None = None
    hops: list[Nexthop] = []
    while words.more():
        tok = words.next()
        word = tok.text
        if word in ROUTE_TYPES and dst_tok is None:
            route.type = word
        elif word == "to":
            dst_tok = words.value(tok)
        elif word == "src":
            route.src = parse_ip(words.value(tok))
            addr_toks.append((route.src, words.tokens[words.i - 1]))
        elif word == "from":
            route.from_prefix = _prefix(words.value(tok))
            addr_toks.append((route.from_prefix, words.tokens[words.i - 1]))
        elif word in ("via", "gw"):
            route.via = parse_ip(words.value(tok))
            addr_toks.append((route.via, words.tokens[words.i - 1]))
        elif word == "or":
            gw2 = words.value(tok)
            addr_toks.append((parse_ip(gw2), gw2))
        elif word in ("dev", "oif"):
            route.dev = words.value(tok).text
        elif word == "table":
            route.table = _table(words.value(tok))
        elif word in ("metric", "preference", "priority"):
            route.metric = _number(words.value(tok), 0, U32, "a metric")
        elif word == "scope":
            route.scope = _number(words.value(tok), 0, 255, "a scope", SCOPES)
        elif word in ("protocol", "proto"):
            route.protocol = _number(words.value(tok), 0, 255, "a protocol", PROTOCOLS)
        elif word == "mtu":
            route.mtu = _number(words.value(tok), 68, 65535, "an MTU")
        elif word == "onlink":
            route.onlink = True
        elif word == "no_track":
            route.no_track = True
        elif word == "nexthop":
            hop, via_tok = _nexthop(words, tok)
            hops.append(hop)
            if hop.via is not None:
                addr_toks.append((hop.via, via_tok))
        elif word in UNSUPPORTED_ROUTE:
            raise ConfigError(f"route option '{word}' is not supported by pykeepalived", tok.loc)
        elif dst_tok is None:
            dst_tok = tok
        else:
            raise ConfigError(f"unknown route option '{shown(word)}' (the destination is "
                              f"'{shown(dst_tok.text)}' already)", tok.loc)
    if dst_tok is None:
        raise ConfigError("a route needs a destination prefix", item.loc)
    route.dst = _destination(dst_tok, addr_toks)
    for addr, tok in addr_toks:
        _same_family(route.family, addr, tok)
    if gw2 is not None:
        if route.via is None or hops:
            raise ConfigError("'or' gives a second gateway: it needs 'via' first and no 'nexthop'", gw2.loc)
        hops = [Nexthop(route.via, route.dev), Nexthop(parse_ip(gw2), route.dev)]
        route.via = route.dev = None
    route.nexthops = tuple(hops)
    _check_route(route, item.head[0])
    return route


def _destination(tok: Token, addrs: list[tuple[IPAddress | IPNetwork, Token]]) -> IPNetwork:
    if tok.text == "default":  # the family of the other addresses on the line (IPv4 without any)
        return ipaddress.ip_network("::/0" if any(a.version == 6 for a, _t in addrs) else "0.0.0.0/0")
    return _prefix(tok)


def _check_route(route: Route, first: Token) -> None:
    if route.nexthops and (route.via is not None or route.dev is not None):
        raise ConfigError("give 'via' and 'dev' inside each 'nexthop', not beside them", first.loc)
    if route.type != "unicast" and (route.via is not None or route.nexthops):
        raise ConfigError(f"a {route.type} route takes no gateway", first.loc)
    if route.type == "unicast" and route.via is None and route.dev is None and not route.nexthops:
        raise ConfigError("a route needs 'via', 'dev' or 'nexthop' (or a type: blackhole, unreachable, "
                          "prohibit, throw)", first.loc)


# -- rules ----------------------------------------------------------------------

def parse_rule(item: Item) -> Rule:
    words = Words(item.head)
    rule = Rule(loc=item.loc)
    addr_toks: list[tuple[IPNetwork, Token]] = []
    actions: list[Token] = []
    while words.more():
        tok = words.next()
        word = tok.text
        if word == "not":
            rule.invert = True
        elif word in ("from", "to"):
            value = words.value(tok)
            if value.text != "all":
                prefix = _prefix(value)
                addr_toks.append((prefix, value))
                if word == "from":
                    rule.from_prefix = prefix
                else:
                    rule.to = prefix
        elif word in ("table", "lookup"):
            rule.table = _table(words.value(tok))
            actions.append(tok)
        elif word == "goto":
            rule.goto = _number(words.value(tok), 1, U32, "a rule priority")
            rule.action = "goto"
            actions.append(tok)
        elif word in RULE_ACTIONS:
            rule.action = word
            actions.append(tok)
        elif word in ("priority", "preference", "order", "pref", "prio"):
            rule.priority = _number(words.value(tok), 0, U32, "a priority")
        elif word in ("iif", "oif"):
            setattr(rule, word, words.value(tok).text)
        elif word == "fwmark":
            _fwmark(rule, words.value(tok))
        elif word in ("tos", "dsfield"):
            rule.tos = _number(words.value(tok), 0, 255, "a TOS")
        elif word == "suppress_prefixlength":
            rule.suppress_prefixlength = _number(words.value(tok), 0, 128, "a prefix length")
        elif word == "suppress_ifgroup":
            rule.suppress_ifgroup = _number(words.value(tok), 0, U32, "an interface group")
        elif word in ("protocol", "proto"):
            rule.protocol = _number(words.value(tok), 0, 255, "a protocol", PROTOCOLS)
        elif word == "no_track":
            rule.no_track = True
        elif word in UNSUPPORTED_RULE:
            raise ConfigError(f"rule option '{word}' is not supported by pykeepalived", tok.loc)
        else:
            raise ConfigError(f"unknown rule option '{shown(word)}'", tok.loc)
    if not actions:
        raise ConfigError("a rule needs an action: table N, goto N, blackhole, unreachable, prohibit or nop",
                          item.loc)
    if len(actions) > 1:
        raise ConfigError(f"a rule takes one action ('{actions[0].text}' given already)", actions[1].loc)
    if addr_toks:
        rule.family = addr_toks[0][0].version
        for addr, tok in addr_toks:
            _same_family(rule.family, addr, tok)
    return rule


def _fwmark(rule: Rule, tok: Token) -> None:
    mark, _, mask = tok.text.partition("/")
    rule.fwmark = _number(Token(tok.kind, mark, tok.loc, tok.first), 0, U32, "a fwmark")
    if mask:
        rule.fwmask = _number(Token(tok.kind, mask, tok.loc, tok.first), 0, U32, "a fwmark mask")


# -- keyword converters -------------------------------------------------------------

def _lines(parse_line: Callable[[Item], object]):
    def convert(stmt: Statement, diags: Diagnostics) -> tuple:
        out = []
        for item in stmt.children or ():
            try:
                out.append(parse_line(item))
            except ConfigError as exc:
                diags.error(exc.location or item.loc, exc.message)
        return tuple(out)

    return convert


routes = _lines(parse_route)
rules = _lines(parse_rule)
