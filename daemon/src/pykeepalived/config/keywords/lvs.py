"""Load-balancing blocks: virtual_server_group, virtual_server, real_server.

Schedulers and forwarding methods are the kernel's IPVS ones (ipvsadm(8));
``lb_algo``/``lb_kind`` are keepalived's older names for
``lvs_sched``/``lvs_method``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from ..build import collect
from ..errors import ConfigError, Diagnostics, shown
from ..grammar import BlockSpec, Item, ItemSpec, Statement
from ..model_lvs import (
    TUNNEL_CSUMS,
    TUNNEL_TYPES,
    RealServer,
    SorryServer,
    Timing,
    Tunnel,
    VirtualServer,
    VirtualServerGroup,
    VsgEntry,
)
from .checkers import CHECKER_KEYWORDS, TIMING_KEYWORDS
from .common import (
    arg,
    bool_kw,
    choice,
    flag_kw,
    in_range,
    integer,
    ip,
    kw,
    obsolete_kw,
    parse_int,
    parse_ip,
    port,
    script,
    text,
)

SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "sed", "nq", "mh", "fo", "ovf", "twos")
METHODS = ("NAT", "DR", "TUN")
# ipvsadm -b: flag-1 is sh-fallback and mh-fallback, flag-2 sh-port and mh-port (lb/services.py)
SCHED_FLAGS = ("flag-1", "flag-2", "flag-3", "sh-fallback", "sh-port", "mh-fallback", "mh-port")
TIMING_FIELDS = frozenset(Timing.__dataclass_fields__)


def _method(stmt: Statement, _d: Diagnostics) -> tuple[str, Tunnel | None]:
    """``NAT|DR``, or ``TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]`` in any order
    (keepalived's rules: gue and only gue has a port; ipip takes no checksum option, gre no
    remcsum).  Returns the method and its tunnel options; split by :func:`_split_method`."""
    method = choice(*METHODS)(stmt, _d)
    words = stmt.args[1:]
    if not words:
        return method, None
    if method != "TUN":
        raise ConfigError(f"{method} takes no options (tunnel options are for TUN)", words[0].loc)
    opts: dict[str, object] = {}
    i = 0
    while i < len(words):
        word = words[i]
        name = "csum" if word.text in TUNNEL_CSUMS else word.text
        if name in opts:
            raise ConfigError(f"tunnel option {name} given twice", word.loc)
        if name == "csum":
            opts[name] = word.text
        elif name in ("type", "port"):
            if i + 1 == len(words):
                raise ConfigError(f"tunnel {name} needs a value", word.loc)
            value = words[i + 1]
            if name == "type" and value.text not in TUNNEL_TYPES:
                raise ConfigError(f"unknown tunnel type {value.text!r} (one of {', '.join(TUNNEL_TYPES)})", value.loc)
            if name == "port" and port(value) == 0:
                raise ConfigError("the gue port must be 1..65535", value.loc)
            opts[name] = value.text if name == "type" else port(value)
            i += 1
        else:
            raise ConfigError(f"unknown tunnel option {word.text!r} (type, port, {', '.join(TUNNEL_CSUMS)})",
                              word.loc)
        i += 1
    tunnel = Tunnel(str(opts.get("type", "ipip")), int(opts.get("port", 0)), str(opts.get("csum", "nocsum")))
    if (tunnel.type == "gue") != bool(tunnel.port):
        raise ConfigError("a gue tunnel needs a port, and only gue takes one", words[0].loc)
    if tunnel.type == "ipip" and tunnel.csum != "nocsum":
        raise ConfigError("ipip tunnels take no checksum option", words[0].loc)
    if tunnel.type == "gre" and tunnel.csum == "remcsum":
        raise ConfigError("gre tunnels do not support remcsum", words[0].loc)
    return method, (tunnel if tunnel != Tunnel() else None)  # one spelling of plain ipip


def _split_method(values: dict) -> None:
    """lvs_method's (method, tunnel) into the model's two fields."""
    if "lvs_method" in values:
        values["lvs_method"], values["tunnel"] = values["lvs_method"]


def _sched_flag(stmt: Statement, _d: Diagnostics) -> str:
    return stmt.keyword.text


def _persistence_timeout(stmt: Statement, _d: Diagnostics) -> int:
    return parse_int(arg(stmt)) if stmt.args else 360  # keepalived: bare keyword = 6 minutes


def _sorry(stmt: Statement, _d: Diagnostics) -> SorryServer:
    port_ = port(arg(stmt, 1)) if len(stmt.args) > 1 else None
    return SorryServer(parse_ip(arg(stmt)), port_, loc=stmt.loc)


def _split_timing(values: dict) -> Timing:
    return Timing(**{k: values.pop(k) for k in list(values) if k in TIMING_FIELDS})


REAL_SERVER = BlockSpec("real_server").add(
    kw("weight", integer, check=in_range(0, 65535)),
    kw("lvs_method", _method, (1, 6)),
    kw("notify_up", script, (1, 3)),
    kw("notify_down", script, (1, 3)),
    kw("uthreshold", integer, check=in_range(0, 2**31 - 1)),
    kw("lthreshold", integer, check=in_range(0, 2**31 - 1)),
    bool_kw("inhibit_on_failure"),
    kw("virtualhost", text),
    bool_kw("smtp_alert"),
    *[k for k in TIMING_KEYWORDS if k.name != "log_all_failures"],
    *CHECKER_KEYWORDS,
    aliases={"lb_kind": "lvs_method", "nb_get_retry": "retry"},
)


def _ip_port(stmt: Statement) -> tuple:
    addr = parse_ip(arg(stmt))
    port_ = port(arg(stmt, 1)) if len(stmt.args) > 1 else None
    return addr, port_


def build_real_server(stmt: Statement, diags: Diagnostics) -> RealServer:
    addr, port_ = _ip_port(stmt)
    values, locs = collect(stmt, diags)
    timing = _split_timing(values)
    _split_method(values)
    values["checkers"] = tuple(values.get("checkers", ()))
    return RealServer(addr, port_, timing=timing, **values, loc=stmt.loc, locs=locs)


VIRTUAL_SERVER = BlockSpec("virtual_server").add(
    kw("lvs_sched", choice(*SCHEDULERS, fold=str.lower)),
    *[kw(name, _sched_flag, (0, 0), field="sched_flags", repeat=True) for name in SCHED_FLAGS],
    flag_kw("ops"),
    kw("lvs_method", _method, (1, 6)),
    kw("protocol", choice("TCP", "UDP", "SCTP")),
    kw("persistence_timeout", _persistence_timeout, (0, 1), check=in_range(1, 2**31 - 1)),
    kw("persistence_granularity", ip),
    kw("persistence_engine", choice("sip", fold=str.lower)),
    flag_kw("ha_suspend"),
    obsolete_kw("nat_mask", (1, 1), "the reverse-NAT mask of Linux 2.2's IPVS"),
    kw("virtualhost", text),
    bool_kw("smtp_alert"),
    bool_kw("omega"),
    kw("quorum", integer, check=in_range(1, 2**31 - 1)),
    kw("hysteresis", integer, check=in_range(0, 2**31 - 1)),
    kw("quorum_up", script, (1, 3)),
    kw("quorum_down", script, (1, 3)),
    kw("ip_family", choice("inet", "inet6", fold=str.lower)),
    kw("sorry_server", _sorry, (1, 2)),
    kw("sorry_server_lvs_method", _method, (1, 6)),
    flag_kw("sorry_server_inhibit"),
    bool_kw("inhibit_on_failure"),
    *[k for k in TIMING_KEYWORDS if k.name != "log_all_failures"],
    kw("real_server", build_real_server, (1, 2), field="real_servers", block=REAL_SERVER, repeat=True),
    aliases={"lb_algo": "lvs_sched", "lb_kind": "lvs_method", "nb_get_retry": "retry"},
)


def build_virtual_server(stmt: Statement, diags: Diagnostics) -> VirtualServer:
    head: dict = {}
    first = arg(stmt).text
    if first in ("fwmark", "group"):
        if len(stmt.args) < 2:
            raise ConfigError(f"virtual_server {first} needs a value", stmt.loc)
        if first == "fwmark":
            head["fwmark"] = parse_int(arg(stmt, 1), "a firewall mark")
            if not 1 <= head["fwmark"] <= 2**32 - 1:
                raise ConfigError(f"fwmark {head['fwmark']} out of range 1..4294967295", arg(stmt, 1).loc)
        else:
            head["group"] = arg(stmt, 1).text
    else:
        head["ip"], head["port"] = _ip_port(stmt)
    values, locs = collect(stmt, diags)
    if "protocol" not in values and "fwmark" not in head:
        # keepalived 2.2.7 (check_data.c): the kernel would take 0 as UDP, so UDP it is, said at -t
        where = " ".join(t.text for t in stmt.args)
        diags.warning(stmt.loc, f"virtual_server {where}: no protocol set - defaulting to UDP, as keepalived "
                      "does (write protocol TCP, UDP or SCTP)")
        values["protocol"] = "UDP"
    timing = _split_timing(values)
    _split_method(values)
    values["real_servers"] = tuple(values.get("real_servers", ()))
    if "sorry_server_lvs_method" in values:
        method, tunnel = values.pop("sorry_server_lvs_method")
        if "sorry_server" not in values:
            raise ConfigError("sorry_server_lvs_method without a sorry_server", locs["sorry_server_lvs_method"])
        values["sorry_server"] = replace(values["sorry_server"], lvs_method=method, tunnel=tunnel)
    values["sched_flags"] = tuple(values.get("sched_flags", ()))
    return VirtualServer(**head, timing=timing, **values, loc=stmt.loc, locs=locs)


VSG_ITEM = ItemSpec("virtual_server_group", head_nargs=(1, 3))


def _vsg_entry(item: Item) -> VsgEntry:
    head = item.head
    if head[0].text == "fwmark":
        if len(head) < 2:
            raise ConfigError("fwmark needs a number", head[0].loc)
        family = head[2].text if len(head) > 2 else None
        return VsgEntry(fwmark=parse_int(head[1], "a firewall mark"), family=family, loc=item.loc)
    first, last = _range(head[0])
    port_ = port(head[1]) if len(head) > 1 else None
    if len(head) > 2:
        raise ConfigError(f"unexpected '{head[2].text}' after the port", head[2].loc)
    return VsgEntry(first=first, last=last, port=port_, loc=item.loc)


def _range(tok) -> tuple:
    """``A.B.C.D``, ``A.B.C.D-E`` (last octet) or ``A.B.C.D-E.F.G.H`` (full address)."""
    start, dash, end = tok.text.partition("-")
    first = parse_ip(type(tok)(tok.kind, start, tok.loc, tok.first))
    if not dash:
        return first, None
    try:
        if end.isdigit() and first.version == 4:
            last = ipaddress.ip_address(start.rsplit(".", 1)[0] + "." + end)
        elif end.isalnum() and first.version == 6 and ":" not in end:
            last = ipaddress.ip_address(start.rsplit(":", 1)[0] + ":" + end)
        else:
            last = ipaddress.ip_address(end)
    except ValueError:
        raise ConfigError(f"bad address range '{shown(tok.text)}'", tok.loc) from None
    if last.version != first.version or last < first:
        raise ConfigError(f"bad address range '{shown(tok.text)}' (end before start or mixed families)", tok.loc)
    return first, last


def build_vsg(stmt: Statement, diags: Diagnostics) -> VirtualServerGroup:
    entries = []
    for item in stmt.children or ():
        try:
            entries.append(_vsg_entry(item))
        except ConfigError as exc:
            diags.error(exc.location or item.loc, exc.message)
    return VirtualServerGroup(arg(stmt).text, tuple(entries), stmt.loc)
