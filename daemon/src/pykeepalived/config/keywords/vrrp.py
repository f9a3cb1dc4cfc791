"""VRRP blocks: vrrp_script, track_file, vrrp_instance, vrrp_sync_group.

Ranges follow keepalived.conf(5) and RFC 3768 / RFC 5798 (VRID 1-255,
priority 1-255 with 255 meaning address owner, VRRPv2 advert interval in
whole seconds 1-255, VRRPv3 in centiseconds up to 40.95 s).
"""

from __future__ import annotations

import ipaddress

from ..build import collect, require
from ..errors import ConfigError, Diagnostics, shown
from ..grammar import BlockSpec, Item, ItemSpec, Statement
from ..model_vrrp import (
    Notify,
    TrackFile,
    TrackRef,
    UnicastPeer,
    UseVmac,
    VirtualIp,
    VrrpInstance,
    VrrpScript,
    VrrpSyncGroup,
)
from . import routes
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
    ip,
    kw,
    max_len,
    number,
    off_kw,
    parse_int,
    parse_ip,
    script,
    text,
    user,
)

SCRIPT_WEIGHT = (-253, 253)
INTERFACE_WEIGHT = (-254, 254)
SCOPES = ("site", "link", "host", "nowhere", "global")


def _weight(stmt: Statement, _d: Diagnostics) -> tuple[int, bool]:
    """``weight N [reverse]``."""
    value = parse_int(arg(stmt))
    reverse = False
    if len(stmt.args) > 1:
        word = arg(stmt, 1).text
        if word not in ("reverse", "noreverse"):
            raise ConfigError(f"expected 'reverse' after the weight, got '{word}'", arg(stmt, 1).loc)
        reverse = word == "reverse"
    lo, hi = SCRIPT_WEIGHT
    if not lo <= value <= hi:
        raise ConfigError(f"{value} out of range {lo}..{hi}", arg(stmt).loc)
    return value, reverse


VRRP_SCRIPT = BlockSpec("vrrp_script").add(
    kw("script", script, (1, 3)),
    kw("interval", number, check=in_range(0.01, 86400)),
    kw("timeout", number, check=in_range(0.01, 86400)),
    kw("weight", _weight, (1, 2)),
    kw("rise", integer, check=in_range(1, 2**31 - 1)),
    kw("fall", integer, check=in_range(1, 2**31 - 1)),
    flag_kw("init_fail"),
    kw("user", user, (1, 2)),
)


def build_vrrp_script(stmt: Statement, diags: Diagnostics) -> VrrpScript:
    values, locs = collect(stmt, diags)
    require(stmt, values, "script")
    weight, reverse = values.pop("weight", (0, False))
    return VrrpScript(name=arg(stmt).text, weight=weight, weight_reverse=reverse, **values,
                      loc=stmt.loc, locs=locs)


TRACK_FILE = BlockSpec("track_file").add(
    kw("file", text),
    kw("weight", _weight, (1, 2)),
    flag_kw("init_file"),
)


def build_track_file(stmt: Statement, diags: Diagnostics) -> TrackFile:
    values, locs = collect(stmt, diags)
    require(stmt, values, "file")
    weight, reverse = values.pop("weight", (1, False))
    return TrackFile(name=arg(stmt).text, weight=weight, weight_reverse=reverse, **values,
                     loc=stmt.loc, locs=locs)


# -- item lists -----------------------------------------------------------------

VIP_ITEM = ItemSpec("virtual_ipaddress", options={
    "brd": 1, "dev": 1, "scope": 1, "label": 1, "no_track": 0,
    # keepalived accepts these; we do not implement them (see _vip).
    "peer": 1, "home": 0, "-nodad": 0, "mngtmpaddr": 0, "noprefixroute": 0,
    "autojoin": 0, "use_vmac": 0, "preferred_lft": 1,
})
UNSUPPORTED_VIP_OPTIONS = frozenset(VIP_ITEM.options) - {"brd", "dev", "scope", "label", "no_track"}


def _virtual_routes(stmt: Statement, diags: Diagnostics) -> tuple:
    """virtual_routes lines; one naming no interface cannot be tracked (keepalived says so,
    and its -t fails on that warning)."""
    out = routes.routes(stmt, diags)
    for r in out:
        if not r.no_track and r.dev is None and not any(h.dev for h in r.nexthops):
            diags.warning(r.loc, f"virtual route {r.dst} names no interface: it is not tracked "
                          "(keepalived's -t refuses this; add 'dev IF' or 'no_track')")
    return out


def _vip(item: Item) -> VirtualIp:
    tok = item.head[0]
    try:
        address = ipaddress.ip_interface(tok.text)
    except ValueError:
        raise ConfigError(f"'{shown(tok.text)}' is not an IP address or address/prefix", tok.loc) from None
    for name in item.options:
        if name in UNSUPPORTED_VIP_OPTIONS:
            raise ConfigError(f"virtual_ipaddress option '{name}' is not supported by pykeepalived",
                              item.option_tokens[name].loc)
    opts = {k: v[0].text for k, v in item.options.items() if v}
    brd = None
    if "brd" in opts:
        brd = parse_ip(item.options["brd"][0])
        if address.version != 4 or brd.version != 4:
            raise ConfigError("brd applies to IPv4 addresses only", item.options["brd"][0].loc)
    scope = opts.get("scope")
    if scope is not None and scope not in SCOPES:
        raise ConfigError(f"scope must be one of {'|'.join(SCOPES)}, got '{scope}'", item.options["scope"][0].loc)
    return VirtualIp(address, brd, opts.get("dev"), scope, opts.get("label"), "no_track" in item.options, tok.loc)


def vips(stmt: Statement, diags: Diagnostics) -> tuple[VirtualIp, ...]:
    out = []
    for item in stmt.children or ():
        try:
            out.append(_vip(item))
        except ConfigError as exc:
            diags.error(exc.location or item.loc, exc.message)
    return tuple(out)


def _track_items(weight_range: tuple[int, int]):
    def convert(stmt: Statement, diags: Diagnostics) -> tuple[TrackRef, ...]:
        out = []
        for item in stmt.children or ():
            ref = TrackRef(item.head[0].text, loc=item.loc)
            if "weight" in item.options and item.options["weight"]:
                wtok = item.options["weight"][0]
                try:
                    ref.weight = parse_int(wtok)
                except ConfigError as exc:
                    diags.error(exc.location, exc.message)
                    continue
                lo, hi = weight_range
                if not lo <= ref.weight <= hi:
                    diags.error(wtok.loc, f"weight {ref.weight} out of range {lo}..{hi}")
                    continue
            ref.reverse = "reverse" in item.options
            out.append(ref)
        return tuple(out)

    return convert


TRACK_ITEM = ItemSpec("track", options={"weight": 1, "reverse": 0, "noreverse": 0})
PEER_ITEM = ItemSpec("unicast_peer", options={"min_ttl": 1, "max_ttl": 1})


def _peers(stmt: Statement, diags: Diagnostics) -> tuple[UnicastPeer, ...]:
    out = []
    for item in stmt.children or ():
        try:
            peer = UnicastPeer(parse_ip(item.head[0]), loc=item.loc)
            for opt in ("min_ttl", "max_ttl"):
                if item.options.get(opt):
                    value = parse_int(item.options[opt][0])
                    if not 0 <= value <= 255:
                        raise ConfigError(f"{opt} {value} out of range 0..255", item.options[opt][0].loc)
                    setattr(peer, opt, value)
        except ConfigError as exc:
            diags.error(exc.location or item.loc, exc.message)
            continue
        out.append(peer)
    return tuple(out)


AUTHENTICATION = BlockSpec("authentication").add(
    kw("auth_type", choice("PASS", "AH")),
    kw("auth_pass", text, check=max_len(8)),
)


def _auth(stmt: Statement, diags: Diagnostics) -> dict:
    values, locs = collect(stmt, diags)
    if values.get("auth_type") == "AH":
        raise ConfigError("auth_type AH is not supported (RFC 3768 removed it); use PASS or none", locs["auth_type"])
    if "auth_type" in values and "auth_pass" not in values:
        require(stmt, values, "auth_pass")
    return values


# -- VMAC (keepalived 2.2.7's vrrp_vmac_handler, vrrp_end_handler) -----------------------------

IFNAMSIZ = 16
RFC5798_MAC_PREFIX = (0x00, 0x00, 0x5E, 0x00)


def _vmac_mac(tok) -> str:
    """A MAC, or five octets (``aa:bb:cc:dd:ee:``) that the VRID completes: keepalived's rule."""
    text = tok.text
    parts = text[:-1].split(":") if text.endswith(":") and text.count(":") == 5 else text.split(":")
    if not 5 <= len(parts) <= 6 or not all(1 <= len(p) <= 2 and all(c in "0123456789abcdefABCDEF" for c in p)
                                            for p in parts):
        raise ConfigError(f"'{shown(text)}' is not a MAC address", tok.loc)
    octets = [int(p, 16) for p in parts]
    if octets[0] & 1:
        raise ConfigError(f"{text} is a multicast MAC address", tok.loc)
    if tuple(octets[:4]) == RFC5798_MAC_PREFIX and octets[4] in (1, 2):
        raise ConfigError(f"{text} is an RFC 5798 address; leave the MAC out to use it", tok.loc)
    return ":".join(f"{o:02x}" for o in octets) + (":" if len(octets) == 5 else "")


def _vmac_name(tok) -> str:
    """A name the kernel accepts for a link (net/core/dev.c dev_valid_name)."""
    name = tok.text
    if not name or len(name) >= IFNAMSIZ or name in (".", "..") or any(c == "/" or c.isspace() for c in name):
        raise ConfigError(f"'{shown(name)}' is not a valid interface name "
                          f"(1..{IFNAMSIZ - 1} characters, no '/', ':' or space)", tok.loc)
    return name


def _use_vmac(stmt: Statement, _d: Diagnostics) -> UseVmac:
    """``use_vmac [NAME] [MAC]`` in either order (a MAC is the word with a ':')."""
    out = UseVmac()
    for tok in stmt.args:
        field = "mac" if ":" in tok.text else "name"
        if getattr(out, field) is not None:
            raise ConfigError(f"the VMAC's {'address' if field == 'mac' else 'name'} is given twice",
                              tok.loc)
        setattr(out, field, _vmac_mac(tok) if field == "mac" else _vmac_name(tok))
    return out


def _refused_vmac_addr(stmt: Statement, _d: Diagnostics) -> object:
    raise ConfigError("per-address VMACs are not supported by pykeepalived (use_vmac is)", stmt.loc)


VMAC_KEYWORDS = [
    kw("use_vmac", _use_vmac, (0, 2)),
    flag_kw("vmac_xmit_base"),
    kw("use_vmac_addr", _refused_vmac_addr, (0, 0)),
]


def _check_vmac(values: dict, locs: dict, name: str, diags: Diagnostics) -> None:
    """keepalived's checks: vmac_xmit_base needs a VMAC; unicast with a VMAC sends from the base."""
    vmac = values.get("use_vmac")
    if values.get("vmac_xmit_base") and vmac is None:
        diags.error(locs["vmac_xmit_base"], "vmac_xmit_base is only valid with use_vmac")
        values.pop("vmac_xmit_base")
    if vmac is None:
        return
    if vmac.mac is not None and vmac.mac.endswith(":") and "virtual_router_id" in values:
        vmac.mac += f"{values['virtual_router_id']:02x}"
    if values.get("unicast_peer") and not values.get("vmac_xmit_base"):
        diags.warning(locs["use_vmac"], f"({name}) unicast with use_vmac sends from the base interface: "
                      "vmac_xmit_base set (as keepalived does)")
        values["vmac_xmit_base"] = True


NOTIFY_KEYWORDS = [kw(n, script, (1, 3)) for n in
                   ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")]


def _notify_deleted(stmt: Statement, diags: Diagnostics):
    """``notify_deleted [SCRIPT [user [group]]]``: DELETED instead of STOP when a reload removes
    the instance; the script (if any) runs then, as notify_fault would for FAULT."""
    return script(stmt, diags) if stmt.args else None

def _mcast_dst(stmt: Statement, _d: Diagnostics):
    """``mcast_dst_ip ADDR``: an IPv4 multicast or IPv6 link-local multicast address (keepalived's
    rule); its family must be the instance's (config/validate.py)."""
    tok = arg(stmt)
    addr = parse_ip(tok)
    if not addr.is_multicast or (addr.version == 6 and addr.packed[1] & 0x0F != 2):
        raise ConfigError(f"'{shown(tok.text)}' is not an IPv4 multicast or IPv6 link-local multicast address",
                          tok.loc)
    return addr


# ``old_unicast_checksum [never]``: bare, VRRPv3 unicast adverts carry keepalived < 1.3.6's
# checksum (pseudo-header to 224.0.0.18); ``never``: the RFC's (ours always reads both)
_old_unicast_checksum = bare_or("never", bare="old")


VRRP_INSTANCE = BlockSpec("vrrp_instance").add(
    kw("interface", text),
    kw("virtual_router_id", integer, check=in_range(1, 255)),
    kw("state", choice("MASTER", "BACKUP")),
    kw("priority", integer, check=in_range(1, 255)),
    kw("advert_int", number, check=in_range(0.01, 255)),
    kw("version", integer, check=in_range(2, 3)),
    flag_kw("nopreempt"),
    flag_kw("preempt"),
    kw("preempt_delay", number, check=in_range(0, 1000)),
    kw("authentication", _auth, (0, 0), block=AUTHENTICATION),
    kw("virtual_ipaddress", vips, (0, 0), block=VIP_ITEM),
    kw("virtual_ipaddress_excluded", vips, (0, 0), block=VIP_ITEM),
    kw("track_interface", _track_items(INTERFACE_WEIGHT), (0, 0), block=TRACK_ITEM),
    kw("track_script", _track_items(SCRIPT_WEIGHT), (0, 0), block=TRACK_ITEM),
    kw("track_file", _track_items(SCRIPT_WEIGHT), (0, 0), block=TRACK_ITEM),
    flag_kw("dont_track_primary"),
    kw("mcast_src_ip", ip),
    kw("mcast_dst_ip", _mcast_dst),
    flag_kw("unicast_fault_no_peer"),
    kw("unicast_ttl", integer, check=in_range(0, 255)),
    kw("down_timer_adverts", integer, check=in_range(1, 100)),
    kw("unicast_src_ip", ip),
    kw("unicast_peer", _peers, (0, 0), block=PEER_ITEM),
    kw("virtual_routes", _virtual_routes, (0, 0), block=routes.ROUTE_ITEM),
    kw("virtual_rules", routes.rules, (0, 0), block=routes.RULE_ITEM),
    always_kw("check_unicast_src"),  # adverts from a non-peer are always dropped (vrrp/validate.py PEER)
    kw("garp_master_delay", integer, check=in_range(0, 255)),
    kw("garp_master_repeat", integer, check=in_range(1, 255)),
    kw("garp_master_refresh", integer, check=POSITIVE),
    kw("garp_master_refresh_repeat", integer, check=in_range(1, 255)),
    kw("garp_lower_prio_delay", integer, check=in_range(0, 255)),
    kw("garp_lower_prio_repeat", integer, check=in_range(0, 255)),
    bool_kw("lower_prio_no_advert"),
    bool_kw("higher_prio_send_advert"),
    bool_kw("skip_check_adv_addr"),
    flag_kw("promote_secondaries"),
    flag_kw("native_ipv6"),
    kw("old_unicast_checksum", _old_unicast_checksum, (0, 1)),
    bool_kw("strict_mode"),
    bool_kw("accept"),
    off_kw("no_accept", "accept"),
    *NOTIFY_KEYWORDS,
    kw("notify_deleted", _notify_deleted, (0, 3)),
    kw("notify_master_rx_lower_pri", script, (1, 3)),
    bool_kw("notify_priority_changes"),
    bool_kw("smtp_alert"),
    *VMAC_KEYWORDS,
    aliases={"no_preempt": "nopreempt"},
)

NOTIFY_FIELDS = ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")


def _pop_notify(values: dict) -> Notify:
    return Notify(**{n: values.pop(n) for n in NOTIFY_FIELDS if n in values})


def build_vrrp_instance(stmt: Statement, diags: Diagnostics) -> VrrpInstance:
    values, locs = collect(stmt, diags)
    require(stmt, values, "interface", "virtual_router_id")
    values.pop("preempt", None)  # keepalived's default, kept for old configs
    auth = values.pop("authentication", {})
    if "auth_type" in auth:
        values["auth_type"], values["auth_pass"] = auth["auth_type"], auth["auth_pass"]
        locs["auth_type"] = locs["authentication"]
    notify = _pop_notify(values)
    if "notify_deleted" in values:
        notify.notify_deleted, values["notify_deleted"] = values["notify_deleted"], True
    _check_vmac(values, locs, arg(stmt).text, diags)
    if values.get("promote_secondaries") and values.get("use_vmac") is not None:
        diags.warning(locs["promote_secondaries"], "promote_secondaries is always set on a VMAC (use_vmac): "
                      "ignored, as keepalived ignores it")
        values["promote_secondaries"] = False
    return VrrpInstance(name=arg(stmt).text, notify=notify, **values, loc=stmt.loc, locs=locs)


GROUP_ITEM = ItemSpec("group")

def _global_tracking(stmt: Statement, diags: Diagnostics) -> bool:
    diags.warning(stmt.loc, "global_tracking is deprecated (keepalived says so too): read as "
                  "sync_group_tracking_weight; track_interface/script/file in the sync group apply to every member")
    return True


VRRP_SYNC_GROUP = BlockSpec("vrrp_sync_group").add(
    kw("group", lambda s, d: tuple(i.head[0].text for i in s.children or ()), (0, 0), block=GROUP_ITEM),
    # added to every member (config/sync_tracking.py); track_process: keywords/track_process.py
    kw("track_interface", _track_items(INTERFACE_WEIGHT), (0, 0), block=TRACK_ITEM),
    kw("track_script", _track_items(SCRIPT_WEIGHT), (0, 0), block=TRACK_ITEM),
    kw("track_file", _track_items(SCRIPT_WEIGHT), (0, 0), block=TRACK_ITEM),
    *NOTIFY_KEYWORDS,
    bool_kw("smtp_alert"),
    flag_kw("sync_group_tracking_weight"),
    kw("global_tracking", _global_tracking, (0, 0), field="sync_group_tracking_weight"),
)


def build_sync_group(stmt: Statement, diags: Diagnostics) -> VrrpSyncGroup:
    values, locs = collect(stmt, diags)
    require(stmt, values, "group")
    notify = _pop_notify(values)
    return VrrpSyncGroup(name=arg(stmt).text, notify=notify, **values, loc=stmt.loc, locs=locs)
