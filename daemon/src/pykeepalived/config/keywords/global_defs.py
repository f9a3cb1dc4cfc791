"""``global_defs { ... }``: daemon-wide settings (keepalived.conf(5), GLOBAL CONFIGURATION)."""

from __future__ import annotations

import ipaddress
import re

from ..errors import ConfigError, Diagnostics, shown
from ..grammar import IGNORED, BlockSpec, ItemSpec, Statement
from ..model_syncd import LvsSyncDaemon
from ..model_vrrp import GlobalDefs, LvsTimeouts
from .common import (
    POSITIVE,
    always_kw,
    arg,
    bare_or,
    bool_kw,
    choice,
    flag_kw,
    in_range,
    integer,
    kw,
    number,
    parse_bool,
    parse_int,
    script,
    text,
    user,
)
from .rcvbufs import keywords as rcvbuf_keywords

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


# ``lvs_flush_on_stop [VS]``: bare, the whole IPVS table at stop; ``VS``: each service without
# its real servers first
_flush_on_stop = bare_or("VS", bare="full")


def _check_log(stmt: Statement, _d: Diagnostics) -> str | None:
    """``reload_check_config [LOG_FILE]``: reloads are judged first anyway; the file is extra."""
    return arg(stmt).text if stmt.args else None


UMASK_BITS = {f"I{p}{w}": 1 << (3 * (2 - i) + 2 - j) for i, w in enumerate(("USR", "GRP", "OTH"))
              for j, p in enumerate("RWX")}  # IRUSR 0o400 ... IXOTH 0o001


def _umask(stmt: Statement, _d: Diagnostics) -> int:
    """``umask NUMBER`` (C's strtol base 0: 0x.. hex, 0.. octal, else decimal; within 0777) or
    ``umask BITS``: IRUSR, IWGRP, ... joined by '|' (spaces around it allowed)."""
    first = arg(stmt)
    if first.text[:1].isdigit():
        if len(stmt.args) > 1:
            raise ConfigError("umask takes one number", stmt.args[1].loc)
        text_, base = first.text.lower(), 10
        if text_.startswith("0x"):
            text_, base = text_[2:], 16
        elif text_.startswith("0") and len(text_) > 1:
            text_, base = text_[1:], 8
        try:
            value = int(text_, base) if re.fullmatch(r"[0-9a-f]+", text_) else -1
        except ValueError:
            value = -1
        if not 0 <= value <= 0o777:
            raise ConfigError(f"'{shown(first.text)}' is not a umask (0-0777; 0x hex, 0 octal)", first.loc)
        return value
    value, need_bit = 0, True
    for tok in stmt.args:
        for part in re.split(r"(\|)", tok.text):
            if not part:
                continue
            if part == "|" and not need_bit:
                need_bit = True
            elif need_bit and part in UMASK_BITS:
                value, need_bit = value | UMASK_BITS[part], False
            else:
                wanted = "a bit (IRUSR, IWGRP, ...)" if need_bit else "'|'"
                raise ConfigError(f"expected {wanted}, got '{shown(part)}'", tok.loc)
    if need_bit:
        raise ConfigError("a bit is missing after '|'", stmt.args[-1].loc)
    return value


def _process_name(stmt: Statement, _d: Diagnostics) -> str:
    tok = arg(stmt)
    if len(tok.text.encode()) >= TASK_COMM_LEN:
        raise ConfigError(f"'{shown(tok.text)}' longer than {TASK_COMM_LEN - 1} bytes "
                          "(the kernel's comm)", tok.loc)
    return tok.text


TASK_COMM_LEN = 16  # the kernel's, with its NUL


def _no_checker_emails(stmt: Statement, _d: Diagnostics) -> object:
    """``no_checker_emails [BOOL]``: what pykeepalived always does (a mail only when a real
    server's own state moves, check/health.py); ``off`` (a mail per checker) is not supported."""
    if stmt.args and not parse_bool(arg(stmt)):
        raise ConfigError("pykeepalived mails only when a real server goes UP or DOWN, never per checker",
                          arg(stmt).loc)
    return IGNORED


LVS_MAX_TIMEOUT = 86400 * 31  # keepalived's


def _lvs_timeouts(stmt: Statement, _d: Diagnostics) -> LvsTimeouts:
    """``lvs_timeouts [tcp SECS] [tcpfin SECS] [udp SECS]``: at least one; seconds 0-2678400, 0
    leaving that one at the kernel's value (keepalived's reading)."""
    found: dict[str, int] = {}
    toks = stmt.args
    for i in range(0, len(toks), 2):
        name = toks[i].text
        if name not in ("tcp", "tcpfin", "udp"):
            raise ConfigError(f"unknown option '{shown(name)}' (tcp, tcpfin, udp)", toks[i].loc)
        if name in found:
            raise ConfigError(f"'{name}' given twice", toks[i].loc)
        if i + 1 >= len(toks):
            raise ConfigError(f"'{name}' needs a number of seconds", toks[i].loc)
        value = parse_int(toks[i + 1], "seconds")
        if not 0 <= value <= LVS_MAX_TIMEOUT:
            raise ConfigError(f"{name} {value} out of range 0-{LVS_MAX_TIMEOUT}", toks[i + 1].loc)
        found[name] = value or None
    return LvsTimeouts(**found)


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
    bool_kw("smtp_alert_vrrp"),
    bool_kw("smtp_alert_checker"),
    flag_kw("no_email_faults"),
    bool_kw("checker_log_all_failures"),
    bool_kw("rs_init_notifies"),
    kw("no_checker_emails", _no_checker_emails, (0, 1)),
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
    bool_kw("vrrp_min_garp"),
    kw("vrrp_garp_lower_prio_delay", integer, check=in_range(0, 255)),
    kw("vrrp_garp_lower_prio_repeat", integer, check=in_range(0, 255)),
    bool_kw("vrrp_lower_prio_no_advert"),
    bool_kw("vrrp_higher_prio_send_advert"),
    kw("vrrp_garp_interval", number, check=in_range(0, 1)),
    kw("vrrp_gna_interval", number, check=in_range(0, 1)),
    flag_kw("vrrp_skip_check_adv_addr"),
    bool_kw("vrrp_notify_priority_changes"),
    kw("vrrp_down_timer_adverts", integer, check=in_range(1, 100)),
    kw("vrrp_startup_delay", number, check=in_range(0.001, 4294)),
    flag_kw("log_unknown_vrids"),
    always_kw("vrrp_check_unicast_src"),  # always on: vrrp/validate.py drops adverts from non-peers
    flag_kw("vrrp_strict"),
    kw("notify_fifo", text),
    kw("notify_fifo_script", script, (1, 3)),
    kw("vrrp_notify_fifo", text),
    kw("lvs_notify_fifo", text),
    kw("vrrp_notify_fifo_script", script, (1, 3)),
    kw("lvs_notify_fifo_script", script, (1, 3)),
    flag_kw("fifo_write_vrrp_states_on_reload"),  # vrrp/reload_fifo.py
    flag_kw("lvs_flush"),
    kw("lvs_flush_on_stop", _flush_on_stop, (0, 1)),
    kw("lvs_timeouts", _lvs_timeouts, (2, 6)),
    kw("reload_check_config", _check_log, (0, 1)),  # services/checklog.py
    kw("startup_script", script, (1, 3)),
    kw("umask", _umask, (1, 9)),
    kw("process_name", _process_name),
    kw("vrrp_process_name", _process_name),
    kw("checker_process_name", _process_name),
    kw("bfd_process_name", _process_name),
    flag_kw("process_names"),
    kw("startup_script_timeout", integer, check=in_range(1, 1000)),
    kw("shutdown_script", script, (1, 3)),
    kw("shutdown_script_timeout", integer, check=in_range(1, 1000)),
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
    *rcvbuf_keywords(),
    # keepalived's older names; the synopsis page still shows them.
    aliases={"lvs_id": "router_id", "smtp_connection_timeout": "smtp_connect_timeout",
             "lvs_flush_onstop": "lvs_flush_on_stop"},
)


MIN_GARP = {"vrrp_garp_master_repeat": 1, "vrrp_garp_master_delay": 0, "vrrp_garp_master_refresh": 0}


def build_global_defs(stmt: Statement, diags: Diagnostics) -> GlobalDefs:
    from ..build import collect

    values, locs = collect(stmt, diags)
    if values.get("vrrp_min_garp"):  # keepalived: minimal GARPs, without overriding what is given
        for name, least in MIN_GARP.items():
            values.setdefault(name, least)
    if "smtp_server" in values:
        host, port = values.pop("smtp_server")
        values["smtp_server"] = host
        if port is not None:
            values["smtp_port"] = port
    return GlobalDefs(**values, loc=stmt.loc, locs=locs)
