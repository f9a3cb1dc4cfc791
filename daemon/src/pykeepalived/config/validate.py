"""Checks that span objects: references, families, versions, duplicates.

keepalived logs many of these and carries on with a default; we refuse
(errors) where the result would differ from what was written, and warn
where the config is legal but probably not what was meant.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import shutil
from typing import NamedTuple

from .effective import effective_instance, effective_version, is_strict
from .errors import UNKNOWN_LOCATION, Diagnostic, Diagnostics, Location
from .model import Config
from .model_lvs import VirtualServer
from .model_vrrp import Script, VrrpInstance
from .sync_tracking import move_group_tracking

V3_MAX_ADVERT = 40.95  # 12-bit centisecond field, RFC 5798 §5.2.7


# Accepted by the grammar (so the message can be precise) but not acted on at
# run time yet: refused rather than silently ignored.
NOT_YET = "is not supported by pykeepalived yet (it would be ignored)"


def _not_yet(config: Config, diags: Diagnostics) -> None:
    for vs in config.virtual_servers:
        if vs.ha_suspend:
            diags.error(vs.locs.get("ha_suspend", vs.loc), f"ha_suspend {NOT_YET}")


def _unicast_ttls(inst: VrrpInstance, diags: Diagnostics) -> None:
    for peer in inst.unicast_peer:
        lo, hi = peer.min_ttl or 0, 255 if peer.max_ttl is None else peer.max_ttl
        if lo > hi:
            diags.error(peer.loc, f"unicast_peer {peer.address}: min_ttl {lo} above max_ttl {hi} "
                        "(every advert from it would be dropped)")


def validate(config: Config, diags: Diagnostics, origin: Location = UNKNOWN_LOCATION) -> None:
    _not_yet(config, diags)
    if not config.vrrp_instances and not config.virtual_servers and not diags.errors:
        diags.warning(origin, "no vrrp_instance or virtual_server is defined: nothing to do "
                      "(a config collapsed onto one line after a '!' or '#' is all comment)")
    for inst in config.vrrp_instances.values():
        _instance(inst, config, diags)
        _unicast_ttls(inst, diags)
    _vrid_duplicates(config, diags)
    _sync_groups(config, diags)
    move_group_tracking(config, diags)  # before anything reads the members' tracking
    syncd = config.global_defs.lvs_sync_daemon
    if syncd is not None and syncd.instance not in config.vrrp_instances:
        diags.error(syncd.loc, f"lvs_sync_daemon: '{syncd.instance}' is not a defined vrrp_instance")
    _bfd_duplicates(config, diags)
    global _ALONE_OF, _alone_now  # noqa: PLW0603 (the memo, replaced per config)
    services: dict[tuple, VirtualServer] = {}
    _alone_now = {}
    for vs in config.virtual_servers:
        key = _virtual_server(vs, config, diags)
        if key in services:
            diags.error(vs.loc, f"virtual_server {vs.name} {vs.protocol} defined twice (first at {services[key].loc})")
        services.setdefault(key, vs)
    _ALONE_OF, _alone_now = _alone_now, {}
    for script in scripts(config):
        _script_exists(script, diags)


def _instance(inst: VrrpInstance, config: Config, diags: Diagnostics) -> None:
    where = inst.locs.get
    version = effective_version(inst, config)
    families = {v.address.version for v in inst.virtual_ipaddress}
    if len(families) > 1:
        diags.error(where("virtual_ipaddress", inst.loc),
                    "virtual_ipaddress mixes IPv4 and IPv6; put the other family in virtual_ipaddress_excluded")
    if inst.native_ipv6 and 4 in families:
        diags.error(where("native_ipv6", inst.loc), "native_ipv6 with IPv4 virtual_ipaddress (keepalived: "
                    "'Cannot specify native_ipv6 with IPv4 addresses')")
    if inst.family == 6 and version == 2:
        diags.error(where("version", inst.loc), "VRRPv2 carries IPv4 only; IPv6 needs version 3 (RFC 5798)")
    if version == 2 and inst.advert_int != int(inst.advert_int):
        diags.error(where("advert_int", inst.loc),
                    f"advert_int {inst.advert_int} is not whole seconds, which VRRPv2 requires (RFC 3768 §5.3.7)")
    if version == 3:
        if inst.advert_int > V3_MAX_ADVERT:
            diags.error(where("advert_int", inst.loc), f"advert_int {inst.advert_int} exceeds VRRPv3's {V3_MAX_ADVERT} s")
        elif abs(round(inst.advert_int * 100) - inst.advert_int * 100) > 1e-6:
            diags.error(where("advert_int", inst.loc), "VRRPv3 advert_int has centisecond resolution")
    effective = effective_instance(inst, config)
    for loc, message in effective.notes:
        diags.warning(loc, message)
    if not effective.instance.accept and inst.virtual_ipaddress and shutil.which("nft") is None:
        diags.warning(where("accept", where("virtual_ipaddress", inst.loc)),
                      "Accept_Mode is off (no_accept / strict mode) but nft(8) is not installed: "
                      "traffic to the VIPs will not be dropped")
    if inst.nopreempt and inst.state == "MASTER":
        diags.warning(where("nopreempt", inst.loc), "nopreempt has no effect with 'state MASTER'; use 'state BACKUP'")
    if inst.priority == 255 and inst.state == "BACKUP":
        diags.warning(where("priority", inst.loc), "priority 255 (address owner) always starts as MASTER")
    for ref in inst.track_script:
        if ref.name not in config.vrrp_scripts and ("vrrp_scripts", ref.name) not in diags.broken:
            diags.error(ref.loc, f"track_script '{ref.name}' is not a defined vrrp_script")
    for ref in inst.track_file:
        if ref.name not in config.track_files and ("track_files", ref.name) not in diags.broken:
            diags.error(ref.loc, f"track_file '{ref.name}' is not a defined track_file")
    for ref in inst.track_process:
        if ref.name not in config.track_processes and ("track_processes", ref.name) not in diags.broken:
            diags.error(ref.loc, f"track_process '{ref.name}' is not a defined vrrp_track_process")
    for ref in inst.track_bfd:
        if ref.name not in config.bfd_instances and ("bfd_instances", ref.name) not in diags.broken:
            diags.error(ref.loc, f"track_bfd '{ref.name}' is not a defined bfd_instance")
        elif ref.name in config.bfd_instances and not config.bfd_instances[ref.name].for_vrrp:
            diags.error(ref.loc, f"track_bfd '{ref.name}': that bfd_instance says 'checker' only, "
                        "so VRRP does not hear it (add 'vrrp')")
    for attr in ("mcast_src_ip", "unicast_src_ip", "mcast_dst_ip"):
        addr = getattr(inst, attr)
        if addr is not None and addr.version != inst.family:
            diags.error(where(attr, inst.loc), f"{attr} {addr} is not the instance's address family (IPv{inst.family})")
    for peer in inst.unicast_peer:
        if peer.address.version != inst.family:
            diags.error(peer.loc, f"unicast_peer {peer.address} is not the instance's address family (IPv{inst.family})")
    if inst.unicast_ttl is not None and not inst.unicast_peer:  # keepalived: an error, reset
        diags.error(where("unicast_ttl", inst.loc), "unicast_ttl needs unicast_peer (multicast adverts keep TTL 255)")
    if is_strict(inst, config) and inst.unicast_peer:  # keepalived refuses to run such an instance
        diags.error(where("unicast_peer", inst.loc), "strict mode (vrrp_strict) forbids unicast_peer")


def _vrid_duplicates(config: Config, diags: Diagnostics) -> None:
    """Same VRID on one interface and family: only legal unicast with disjoint peers."""
    seen: dict[tuple, VrrpInstance] = {}
    for inst in config.vrrp_instances.values():
        key = (inst.interface, inst.family, inst.virtual_router_id)
        other = seen.get(key)
        if other is None:
            seen[key] = inst
            continue
        mine = {p.address for p in inst.unicast_peer}
        theirs = {p.address for p in other.unicast_peer}
        if mine and theirs and not mine & theirs:
            continue
        diags.error(inst.locs.get("virtual_router_id", inst.loc),
                    f"virtual_router_id {inst.virtual_router_id} on {inst.interface} (IPv{inst.family}) "
                    f"is already used by vrrp_instance {other.name} at {other.loc}")


def _bfd_check(chk, seen: set[str], config: Config, diags: Diagnostics) -> None:
    """keepalived's check_bfd.c: a defined bfd_instance that the checkers hear, once per real server."""
    where = chk.locs.get("name", chk.loc)
    spec = config.bfd_instances.get(chk.name)
    if spec is None:
        if ("bfd_instances", chk.name) not in diags.broken:
            diags.error(where, f"BFD_CHECK name '{chk.name}' is not a defined bfd_instance")
    elif not spec.for_checker:
        diags.error(where, f"BFD_CHECK name '{chk.name}': that bfd_instance says 'vrrp' only, "
                    "so the checkers do not hear it (add 'checker')")
    if chk.name in seen:
        diags.error(where, f"BFD_CHECK name '{chk.name}': this real server checks it already")
    seen.add(chk.name)


def _bfd_duplicates(config: Config, diags: Diagnostics) -> None:
    """One session per neighbor/source pair and port (single hop or multihop): a received packet
    must find one (keepalived refuses too)."""
    seen: dict[tuple, str] = {}
    for b in config.bfd_instances.values():
        key = (b.neighbor_ip, b.source_ip, b.multihop)
        if key in seen:
            diags.error(b.loc, f"bfd_instance {b.name}: same neighbor_ip/source_ip{' (multihop)' if b.multihop else ''}"
                        f" as bfd_instance {seen[key]}")
        seen.setdefault(key, b.name)


def _sync_groups(config: Config, diags: Diagnostics) -> None:
    member_of: dict[str, str] = {}
    for group in config.vrrp_sync_groups.values():
        for name in group.group:
            if ("vrrp_instances", name) in diags.broken:
                continue
            if name not in config.vrrp_instances:
                diags.error(group.locs.get("group", group.loc),
                            f"vrrp_sync_group {group.name}: '{name}' is not a defined vrrp_instance")
            elif name in member_of:
                diags.error(group.locs.get("group", group.loc),
                            f"vrrp_instance {name} is already in vrrp_sync_group {member_of[name]}")
            else:
                member_of[name] = group.name


class _Alone(NamedTuple):
    """What validate() needs of a virtual server that does not depend on the rest of the config."""

    vs: VirtualServer
    problems: list[Diagnostic]
    key: tuple  # what makes two virtual servers the same service (hashed at C speed: no address objects)
    file_checks: tuple[tuple[str, Location], ...]  # its FILE_CHECKs' track_file names, for the cross check
    bfd_checks: tuple[tuple, ...]  # per real server, its BFD_CHECKs: they name bfd_instances


# virtual server -> what it alone says, of the last validate(): a reload hands most of them over as
# the same objects (config/blocks.py); walking their 40,000 real servers again took a second
_ALONE_OF: dict[int, _Alone] = {}
_alone_now: dict[int, _Alone] = {}


def _virtual_server(vs: VirtualServer, config: Config, diags: Diagnostics) -> tuple:
    """Check ``vs`` (its own problems remembered per object); its service key."""
    hit = _ALONE_OF.get(id(vs))
    if hit is None or hit.vs is not vs:
        alone = Diagnostics()
        _virtual_server_alone(vs, alone)
        files = tuple((chk.track_file, chk.locs.get("track_file", chk.loc)) for rs in vs.real_servers
                      for chk in rs.checkers if chk.kind == "FILE_CHECK")
        ip = None if vs.ip is None else (vs.ip.version, vs.ip.packed, getattr(vs.ip, "scope_id", None))
        bfds = tuple(checks for checks in (tuple(chk for chk in rs.checkers if chk.kind == "BFD_CHECK")
                                           for rs in vs.real_servers) if checks)
        hit = _Alone(vs, alone.items, (ip, vs.port, vs.fwmark, vs.group, vs.protocol), files, bfds)
    _alone_now[id(vs)] = hit
    if vs.group is not None and vs.group not in config.virtual_server_groups \
            and ("virtual_server_groups", vs.group) not in diags.broken:
        diags.error(vs.loc, f"virtual_server group '{vs.group}' is not a defined virtual_server_group")
    for track_file, where in hit.file_checks:
        if track_file not in config.track_files:
            diags.error(where, f"FILE_CHECK track_file '{track_file}' is not a defined track_file")
    for checks in hit.bfd_checks:
        seen: set[str] = set()
        for chk in checks:
            _bfd_check(chk, seen, config, diags)
    for problem in hit.problems:
        (diags.error if problem.severity == "error" else diags.warning)(problem.location, problem.message)
    return hit.key


def _virtual_server_alone(vs: VirtualServer, diags: Diagnostics) -> None:
    """What is wrong within the virtual server, whatever the rest of the config."""
    if vs.ip is not None and vs.port is None and vs.persistence_timeout is None:
        diags.error(vs.loc, f"virtual_server {vs.name}: the port may only be omitted for a persistent service")
    if vs.persistence_engine is not None and vs.persistence_timeout is None:
        diags.warning(vs.locs["persistence_engine"], f"virtual_server {vs.name}: persistence_engine "
                      f"{vs.persistence_engine} does nothing without persistence_timeout")
    if vs.ops and vs.ip is not None and vs.protocol != "UDP":
        # keepalived logs "one packet scheduling requires UDP - resetting" and drops it
        diags.error(vs.locs.get("ops", vs.loc), f"virtual_server {vs.name}: ops (one-packet scheduling) "
                    f"needs protocol UDP or a fwmark service, not {vs.protocol}")
    seen: dict[tuple, object] = {}
    for rs in vs.real_servers:
        if rs.key in seen:
            diags.error(rs.loc, f"real_server {rs.ip} {rs.port} defined twice in virtual_server {vs.name}")
        seen[rs.key] = rs
        method = rs.lvs_method or vs.lvs_method
        if vs.ip is not None and method != "TUN" and rs.ip.version != vs.ip.version:
            diags.error(rs.loc, f"real_server {rs.ip} is not the virtual server's address family (only TUN may differ)")
        if rs.port is None and vs.port is not None and method == "NAT":
            diags.error(rs.loc, f"real_server {rs.ip} needs a port with NAT forwarding")
        if rs.uthreshold is not None and rs.lthreshold is not None and rs.lthreshold > rs.uthreshold:
            diags.error(rs.locs.get("lthreshold", rs.loc), "lthreshold is above uthreshold")
        if method == "DR" and vs.port is not None and rs.port not in (None, vs.port):
            diags.warning(rs.loc, f"with DR the real server port ({rs.port}) is ignored; the VIP's port {vs.port} is used")
    if vs.sorry_server is not None and vs.ip is not None \
            and (vs.sorry_server.lvs_method or vs.lvs_method) != "TUN" \
            and vs.sorry_server.ip.version != vs.ip.version:
        diags.error(vs.sorry_server.loc, "sorry_server is not the virtual server's address family")


# hold no Script: not walked (a big config has ~10^6 of them)
_LEAVES = (str, int, float, Location, ipaddress.IPv4Address, ipaddress.IPv6Address, type(None))
_FIELDS: dict[type, tuple[str, ...] | None] = {}  # per class: its dataclass field names, None if not one


_POSITIONS = ("loc", "locs")  # every model class's file:line:col fields (model_vrrp._loc, _locs): no Script there


def _field_names(cls: type) -> tuple[str, ...] | None:
    names = _FIELDS.get(cls, ())
    if names == ():
        names = _FIELDS[cls] = (tuple(f.name for f in dataclasses.fields(cls) if f.name not in _POSITIONS)
                                if dataclasses.is_dataclass(cls) else None)
    return names


# virtual server -> its scripts, of the last walk: a reload hands most of them over as the same
# objects (config/blocks.py, core/snapshot.py), and 2,000 x 20 took a second to walk again
_SCRIPTS_OF: dict[int, tuple[VirtualServer, list[Script]]] = {}
_scripts_now: dict[int, tuple[VirtualServer, list[Script]]] = {}
_LAST_WALK: tuple[object, list[Script]] = (None, [])  # the last whole config walked (kept alive: its id is its own)


def _scripts(obj: object, seen: set[int], out: list[Script]) -> None:
    """Depth first, each object once; leaves are skipped before the call (most values are)."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, Script):
        out.append(obj)
        return
    if type(obj) is VirtualServer:
        hit = _SCRIPTS_OF.get(id(obj))
        if hit is None or hit[0] is not obj:
            hit = (obj, [])
            _fields(obj, seen, hit[1])
        _scripts_now[id(obj)] = hit
        out.extend(hit[1])
        return
    _fields(obj, seen, out)


def _fields(obj: object, seen: set[int], out: list[Script]) -> None:
    names = _field_names(type(obj))
    if names is not None:
        values = [getattr(obj, name) for name in names]
    elif isinstance(obj, dict):
        values = obj.values()
    elif isinstance(obj, (list, tuple)):
        values = obj
    else:
        return
    for v in values:
        if v and not isinstance(v, _LEAVES):  # empty containers and None hold nothing either
            _scripts(v, seen, out)


def scripts(config: object) -> list[Script]:
    """Every Script in the config model (notify_*, vrrp_script, MISC_CHECK, notify_fifo_script,
    quorum_up/down, ...): the one list, for the existence warnings here and for script
    security (services/security.py)."""
    global _SCRIPTS_OF, _scripts_now, _LAST_WALK  # noqa: PLW0603 (the memo, replaced per walk)
    if _LAST_WALK[0] is config:  # a judgment walks one config twice (here, services/security.py)
        return list(_LAST_WALK[1])
    out: list[Script] = []
    if not isinstance(config, _LEAVES):
        _scripts_now = {}
        _scripts(config, set(), out)
        if isinstance(config, Config):  # a whole config: its virtual servers are the ones to remember
            _SCRIPTS_OF, _scripts_now = _scripts_now, {}
            _LAST_WALK = (config, out)
    return list(out)


def _script_exists(script: Script, diags: Diagnostics) -> None:
    """A missing program is a warning here: it may be installed after the config."""
    prog = script.argv[0]
    found = prog if os.path.isabs(prog) else shutil.which(prog)
    if found is None or not os.path.exists(found):
        diags.warning(script.loc, f"script '{prog}' not found; it will fail when run")
    elif not os.access(found, os.X_OK):
        diags.warning(script.loc, f"script '{prog}' is not executable")
