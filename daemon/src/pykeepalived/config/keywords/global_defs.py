"""``global_defs { ... }``: daemon-wide settings (keepalived.conf(5), GLOBAL CONFIGURATION)."""

from __future__ import annotations

import ipaddress
import re

from ..errors import ConfigError, Diagnostics, shown
from ..grammar import BlockSpec, ItemSpec, Statement
from ..model_syncd import LvsSyncDaemon
from ..model_vrrp import GlobalDefs
from .common import POSITIVE, always_kw, arg, bool_kw, choice, flag_kw, in_range, integer, kw, number, parse_int, script, text, user

EMAIL_RE = re.compile(r"^[^\s@<>\[\]()]+(@[^\s@<>\[\]()]+\.?[^\s@<>\[\]()]*)?$")


def netns_name(stmt: Statement, _d: Diagnostics) -> str:
    """``net_namespace NAME``: a name ip-netns(8) can hold (a file in /var/run/netns)."""
    tok = arg(stmt)
    if tok.text in (".", "..") or "/" in tok.text or len(tok.text) > 255:
        raise ConfigError(f"'{shown(tok.text)}' is not a namespace name (a file name in "
                          "/var/run/netns)", tok.loc)
    return tok.text


IP_VS_IFNAME_MAXLEN = 16  # the kernel's, with its NUL


def _lvs_sync_daemon(stmt: Statement, _d: Diagnostics):
    """keepalived 2.2's syntax: IFACE INSTANCE (or ``inst NAME``), ``id N`` (0-255), ``maxlen N``,
    ``port N``, ``ttl N``, ``group IP``; 1.x's positional SYNC_ID is an error, as in keepalived's -t."""
    toks = stmt.args
    if len(toks[0].text) >= IP_VS_IFNAME_MAXLEN:
        raise ConfigError(f"interface name '{shown(toks[0].text)}' longer than {IP_VS_IFNAME_MAXLEN - 1} "
                          "characters", toks[0].loc)
    found: dict = {}
    limits = {"id": (0, 255), "maxlen": (1, 65535 - 20 - 8), "port": (1, 65535), "ttl": (1, 255)}
    i, positional = 1, 0
    while i < len(toks):
        word = toks[i].text
        if word in ("inst", "group", *limits):
            if i + 1 >= len(toks):
                raise ConfigError(f"'{word}' needs a value", toks[i].loc)
            value_tok = toks[i + 1]
            if word in found:
                raise ConfigError(f"'{word}' given twice", toks[i].loc)
            if word == "inst":
                found[word] = value_tok.text
            elif word == "group":
                addr = _ip(value_tok)
                if not addr.is_multicast:
                    raise ConfigError(f"group {addr} is not a multicast address", value_tok.loc)
                found[word] = addr
            else:
                found[word] = parse_int(value_tok)
                lo, hi = limits[word]
                if not lo <= found[word] <= hi:
                    raise ConfigError(f"{word} {found[word]} out of range {lo}..{hi}", value_tok.loc)
            i += 2
            continue
        if positional == 0 and "inst" not in found:  # keepalived before 2.0: IFACE INSTANCE [SYNC_ID]
            found["inst"] = word
        elif positional == 1:  # keepalived 2.2.7's -t refuses the 1.x positional SYNC_ID too
            raise ConfigError(f"write the sync id as 'id {shown(word)}'", toks[i].loc)
        else:
            raise ConfigError(f"unknown lvs_sync_daemon option '{shown(word)}' (inst, id, maxlen, port, ttl, "
                              "group)", toks[i].loc)
        positional += 1
        i += 1
    if "inst" not in found:
        raise ConfigError("lvs_sync_daemon needs the vrrp_instance whose state it follows: "
                          "lvs_sync_daemon IFACE INSTANCE [id N] ...", stmt.loc)
    return LvsSyncDaemon(toks[0].text, found["inst"], found.get("id"), found.get("maxlen"), found.get("port"),
                         found.get("ttl"), found.get("group"), loc=stmt.loc)


def _ip(tok):
    try:
        return ipaddress.ip_address(tok.text)
    except ValueError:
        raise ConfigError(f"'{shown(tok.text)}' is not an IP address", tok.loc) from None


def _email(stmt: Statement, _d: Diagnostics) -> tuple[str, ...]:
    out = []
    for item in stmt.children or ():
        tok = item.head[0]
        # A bare local part ("acassen", as keepalived's own samples use) is a
        # valid recipient for the local SMTP server.
        if not EMAIL_RE.match(tok.text):
            raise ConfigError(f"notification_email: '{shown(tok.text)}' is not an email address", tok.loc)
        out.append(tok.text)
    return tuple(out)


def _email_from(stmt: Statement, _d: Diagnostics) -> str:
    tok = arg(stmt)
    if "@" not in tok.text.strip("@"):
        raise ConfigError(f"'{shown(tok.text)}' is not an email address", tok.loc)
    return tok.text


def _smtp_server(stmt: Statement, _d: Diagnostics) -> tuple[str, int | None]:
    host = arg(stmt).text
    port = parse_int(arg(stmt, 1), "a port number") if len(stmt.args) > 1 else None
    return host, port


def _listen(stmt: Statement, _d: Diagnostics) -> str:
    from ...core.metrics import parse_listen

    tok = arg(stmt)
    try:
        host, port = parse_listen(tok.text)
    except ValueError as exc:
        raise ConfigError(f"metrics_listen: {exc}", tok.loc) from None
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _mcast(version: int):
    def convert(stmt: Statement, _d: Diagnostics):
        tok = arg(stmt)
        try:
            addr = ipaddress.ip_address(tok.text)
        except ValueError:
            raise ConfigError(f"'{shown(tok.text)}' is not an IP address", tok.loc) from None
        if addr.version != version or not addr.is_multicast:
            raise ConfigError(f"'{shown(tok.text)}' is not an IPv{version} multicast address", tok.loc)
        return addr

    return convert


def _cpus(stmt: Statement, _d: Diagnostics) -> tuple[int, ...]:
    """``*_cpu_affinity CPU [CPU]...``: CPU numbers (whether this machine has them is
    checked where the child applies them, services/sched.py)."""
    cpus = []
    for tok in stmt.args:
        cpu = parse_int(tok, "a CPU number")
        if not 0 <= cpu < MAX_CPUS:
            raise ConfigError(f"CPU {cpu} out of range 0-{MAX_CPUS - 1}", tok.loc)
        cpus.append(cpu)
    return tuple(sorted(set(cpus)))


MAX_CPUS = 1024  # CPU_SETSIZE: what sched_setaffinity's default mask holds


def _scheduling() -> list:
    """keepalived's per-child scheduling keywords (keepalived.conf(5)), applied by the
    child of that role at its start (services/sched.py)."""
    out = []
    for role in ("vrrp", "checker", "bfd"):
        out += [kw(f"{role}_rt_priority", integer, check=in_range(1, 99)),
                kw(f"{role}_priority", integer, check=in_range(-20, 19)),
                flag_kw(f"{role}_no_swap"),
                kw(f"{role}_rlimit_rttime", integer, check=in_range(2, 2**31 - 1)),
                kw(f"{role}_cpu_affinity", _cpus, (1, MAX_CPUS))]
    return out


EMAILS = ItemSpec("notification_email")

GLOBAL_DEFS = BlockSpec("global_defs").add(
    kw("router_id", text),
    kw("notification_email", _email, (0, 0), block=EMAILS),
    kw("notification_email_from", _email_from),
    kw("smtp_server", _smtp_server, (1, 2)),
    kw("smtp_connect_timeout", integer, check=in_range(1, 3600)),
    kw("smtp_helo_name", text),
    bool_kw("smtp_alert"),
    flag_kw("enable_script_security"),
    kw("script_user", user, (1, 2)),
    kw("default_interface", text),
    kw("vrrp_version", integer, check=in_range(2, 3)),
    kw("vrrp_mcast_group4", _mcast(4)),
    kw("vrrp_mcast_group6", _mcast(6)),
    kw("vrrp_garp_master_delay", integer, check=in_range(0, 255)),
    kw("vrrp_garp_master_repeat", integer, check=in_range(1, 255)),
    kw("vrrp_garp_master_refresh", integer, check=POSITIVE),
    kw("vrrp_garp_master_refresh_repeat", integer, check=in_range(1, 255)),
    kw("vrrp_garp_lower_prio_delay", integer, check=in_range(0, 255)),
    kw("vrrp_garp_lower_prio_repeat", integer, check=in_range(0, 255)),
    bool_kw("vrrp_lower_prio_no_advert"),
    bool_kw("vrrp_higher_prio_send_advert"),
    kw("vrrp_garp_interval", number, check=in_range(0, 1)),
    kw("vrrp_gna_interval", number, check=in_range(0, 1)),
    flag_kw("vrrp_skip_check_adv_addr"),
    bool_kw("vrrp_notify_priority_changes"),
    always_kw("vrrp_check_unicast_src"),  # always on: vrrp/validate.py drops adverts from non-peers
    flag_kw("vrrp_strict"),
    kw("notify_fifo", text),
    kw("notify_fifo_script", script, (1, 3)),
    kw("vrrp_notify_fifo", text),
    kw("lvs_notify_fifo", text),
    flag_kw("lvs_flush"),
    # ours, not keepalived's: which kernel data plane balances traffic
    kw("lb_backend", choice("ipvs", "nftables", "auto", fold=str.lower)),
    kw("lvs_sync_daemon", _lvs_sync_daemon, (1, 14)),
    # ours: the Prometheus endpoint (core/metrics.py), off unless given
    kw("metrics_listen", _listen),
    # ours: a stopping or resigning master keeps its VIPs until the new master speaks (vrrp/fsm.py)
    kw("vmac_prefix", text),  # VMAC names: PREFIX.VRID (vrrp/routing.py)
    kw("vmac_addr_prefix", text),
    bool_kw("pykeepalived_graceful_handover"),
    # ours: a healed split brain is re-announced with GARP/NA (vrrp/fsm.py)
    bool_kw("pykeepalived_split_brain_garp"),
    *_scheduling(),
    # keepalived's older names; the synopsis page still shows them.
    aliases={"lvs_id": "router_id", "smtp_connection_timeout": "smtp_connect_timeout"},
)


def build_global_defs(stmt: Statement, diags: Diagnostics) -> GlobalDefs:
    from ..build import collect

    values, locs = collect(stmt, diags)
    if "smtp_server" in values:
        host, port = values.pop("smtp_server")
        values["smtp_server"] = host
        if port is not None:
            values["smtp_port"] = port
    return GlobalDefs(**values, loc=stmt.loc, locs=locs)
