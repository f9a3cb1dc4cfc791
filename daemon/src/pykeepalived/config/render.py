"""Write a model back as canonical keepalived.conf syntax.

Canonical means: one statement per line, four-space indents, only values
that differ from keepalived's defaults, and the same keyword order as the
model's fields. parse(render(model)) == model (a property test checks it).
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterator
from contextlib import contextmanager

from .keywords import routes
from .model import Config
from .model_bfd import BfdInstance
from .model_lvs import CheckerCommon, FileCheck, RealServer, Tunnel, Url, VirtualServer, VirtualServerGroup, VsgEntry
from .model_track_process import TrackProcess
from .model_vrrp import (
    GlobalDefs,
    Notify,
    Route,
    Rule,
    Script,
    TrackFile,
    TrackRef,
    UnicastPeer,
    VirtualIp,
    VrrpInstance,
    VrrpScript,
    VrrpSyncGroup,
)

META = frozenset({"loc", "locs", "kind"})
SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@,+=%*?^~[]$&()<>|;'")


# The collection's one rule for keepalived.conf words: SAFE, quoted, quote and fmt.  The
# modules and the role write through a stdlib copy (plugins/module_utils/syntax.py) that
# tests/unit/test_contracts.py keeps equal to this one.
def quoted(value: str) -> str:
    """Always double-quoted, with backslash escapes (a script's command line)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote(value: str) -> str:
    """Bare when the lexer reads it back unchanged, else double-quoted."""
    if value and all(c in SAFE for c in value) and value[0] not in "!#":
        return value
    return quoted(value)


def fmt(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return quote(str(value))


def script_args(script: Script) -> list[str]:
    cmd = shlex.join(script.argv)
    owner = [x for x in (script.user, script.group) if x is not None]
    return [quoted(cmd), *map(quote, owner)]


class Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def line(self, *words: str) -> None:
        self.lines.append("    " * self.depth + " ".join(words))

    @contextmanager
    def block(self, *words: str) -> Iterator[None]:
        self.line(*words, "{")
        self.depth += 1
        yield
        self.depth -= 1
        self.line("}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _scalars(w: Writer, obj, skip: frozenset[str] = frozenset()) -> None:
    """Every plain field that differs from its default, as ``keyword value``."""
    for f in dataclasses.fields(obj):
        if f.name in META or f.name in skip:
            continue
        value = getattr(obj, f.name)
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
        if value == default or value is None:
            continue
        if isinstance(value, bool):
            w.line(f.name) if value and default is False else w.line(f.name, fmt(value))
        elif isinstance(value, Script):
            w.line(f.name, *script_args(value))
        elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            w.line(f.name, *map(quote, value))
        else:
            w.line(f.name, fmt(value))


def render_global_defs(w: Writer, gd: GlobalDefs) -> None:
    with w.block("global_defs"):
        if gd.notification_email:
            with w.block("notification_email"):
                for addr in gd.notification_email:
                    w.line(quote(addr))
        if gd.smtp_server is not None:
            w.line("smtp_server", quote(gd.smtp_server), *([str(gd.smtp_port)] if gd.smtp_port != 25 else []))
        cpus = ("vrrp_cpu_affinity", "checker_cpu_affinity", "bfd_cpu_affinity")
        _scalars(w, gd, frozenset({"notification_email", "smtp_server", "smtp_port", "lvs_sync_daemon", *cpus}))
        if gd.lvs_sync_daemon is not None:
            w.line("lvs_sync_daemon", *map(quote, gd.lvs_sync_daemon.words()))
        for name in cpus:
            if getattr(gd, name):
                w.line(name, *map(str, getattr(gd, name)))


def render_vrrp_script(w: Writer, s: VrrpScript) -> None:
    with w.block("vrrp_script", quote(s.name)):
        _scalars(w, s, frozenset({"name", "weight", "weight_reverse"}))
        if s.weight or s.weight_reverse:
            w.line("weight", str(s.weight), *(["reverse"] if s.weight_reverse else []))


def render_track_process(w: Writer, p: TrackProcess) -> None:
    with w.block("vrrp_track_process", quote(p.name)):
        w.line("process", *map(quote, p.process))
        if p.param_match is not None:  # keepalived's bare param_match is "exact"
            w.line("param_match", *([p.param_match] if p.param_match != "exact" else []))
        _scalars(w, p, frozenset({"name", "process", "param_match", "weight", "weight_reverse"}))
        if p.weight or p.weight_reverse:
            w.line("weight", str(p.weight), *(["reverse"] if p.weight_reverse else []))


def render_bfd_instance(w: Writer, b: BfdInstance) -> None:
    with w.block("bfd_instance", quote(b.name)):
        _scalars(w, b, frozenset({"name", "weight", "weight_reverse", "for_vrrp", "for_checker"}))
        if b.weight or b.weight_reverse:
            w.line("weight", str(b.weight), *(["reverse"] if b.weight_reverse else []))
        if not (b.for_vrrp and b.for_checker):  # neither keyword: both hear it
            for word in ("vrrp", "checker"):
                if getattr(b, f"for_{word}"):
                    w.line(word)


def render_track_file(w: Writer, t: TrackFile) -> None:
    with w.block("track_file", quote(t.name)):
        _scalars(w, t, frozenset({"name", "weight", "weight_reverse"}))
        if t.weight != 1 or t.weight_reverse:
            w.line("weight", str(t.weight), *(["reverse"] if t.weight_reverse else []))


def _vip(v: VirtualIp) -> list[str]:
    words = [str(v.address)]
    for opt in ("brd", "dev", "scope", "label"):
        if getattr(v, opt) is not None:
            words += [opt, quote(str(getattr(v, opt)))]
    return words + (["no_track"] if v.no_track else [])


def _track(ref: TrackRef) -> list[str]:
    words = [quote(ref.name)]
    if ref.weight is not None:
        words += ["weight", str(ref.weight)]
    return words + (["reverse"] if ref.reverse else [])


def _peer(p: UnicastPeer) -> list[str]:
    words = [str(p.address)]
    for opt in ("min_ttl", "max_ttl"):
        if getattr(p, opt) is not None:
            words += [opt, str(getattr(p, opt))]
    return words


def _by_value(names: dict[str, int], value: int) -> str:
    return next((n for n, v in names.items() if v == value), str(value))


def _route(r: Route) -> list[str]:
    words = [] if r.type == "unicast" else [r.type]
    words.append(str(r.dst))
    for name, value in (("src", r.src), ("from", r.from_prefix), ("via", r.via), ("dev", r.dev)):
        if value is not None:
            words += [name, quote(str(value))]
    for name, value in (("table", r.table), ("metric", r.metric), ("mtu", r.mtu)):
        if value is not None:
            words += [name, str(value)]
    if r.scope is not None:
        words += ["scope", _by_value(routes.SCOPES, r.scope)]
    if r.protocol is not None:
        words += ["protocol", str(r.protocol)]
    words += (["onlink"] if r.onlink else []) + (["no_track"] if r.no_track else [])
    for hop in r.nexthops:  # last: a nexthop's options run to the next "nexthop" or the line's end
        words += ["nexthop", *(["via", str(hop.via)] if hop.via is not None else []),
                  *(["dev", quote(hop.dev)] if hop.dev is not None else []),
                  *(["weight", str(hop.weight)] if hop.weight != 1 else []), *(["onlink"] if hop.onlink else [])]
    return words


def _rule(r: Rule) -> list[str]:
    words = ["not"] if r.invert else []
    for name, value in (("from", r.from_prefix), ("to", r.to)):
        if value is not None:
            words += [name, str(value)]
    for name in ("iif", "oif"):
        if getattr(r, name) is not None:
            words += [name, quote(getattr(r, name))]
    if r.fwmark is not None:
        words += ["fwmark", f"{r.fwmark}" + (f"/{r.fwmask}" if r.fwmask is not None else "")]
    for name in ("tos", "suppress_prefixlength", "suppress_ifgroup", "protocol", "priority", "table", "goto"):
        if getattr(r, name) is not None:
            words += [name, str(getattr(r, name))]
    if r.action not in ("table", "goto"):
        words.append(r.action)
    return words + (["no_track"] if r.no_track else [])


def _items(w: Writer, name: str, items, fmt_item) -> None:
    if items:
        with w.block(name):
            for item in items:
                w.line(*fmt_item(item))


def _notify(w: Writer, n: Notify) -> None:
    _scalars(w, n)


def render_instance(w: Writer, inst: VrrpInstance) -> None:
    lists = {"virtual_ipaddress": _vip, "virtual_ipaddress_excluded": _vip, "track_interface": _track,
             "track_script": _track, "track_file": _track, "track_process": _track, "track_bfd": _track,
             "unicast_peer": _peer,
             "virtual_routes": _route, "virtual_rules": _rule}
    with w.block("vrrp_instance", quote(inst.name)):
        _scalars(w, inst, frozenset({"name", "auth_type", "auth_pass", "notify", "accept", *lists}))
        if inst.accept is not None:
            w.line("accept" if inst.accept else "no_accept")  # keepalived's two spellings
        if inst.auth_type is not None:
            with w.block("authentication"):
                w.line("auth_type", inst.auth_type)
                w.line("auth_pass", quote(inst.auth_pass or ""))
        for name, fmt_item in lists.items():
            items = getattr(inst, name)
            if name.startswith("track_"):  # those its sync group put there are written in the group
                items = [ref for ref in items if ref.sync_group is None]
            _items(w, name, items, fmt_item)
        _notify(w, inst.notify)


def render_sync_group(w: Writer, g: VrrpSyncGroup) -> None:
    with w.block("vrrp_sync_group", quote(g.name)):
        _items(w, "group", g.group, lambda n: [quote(n)])
        tracking = ("track_interface", "track_script", "track_file", "track_process")
        _scalars(w, g, frozenset({"name", "group", "notify", *tracking}))
        for name in tracking:
            _items(w, name, getattr(g, name), _track)
        _notify(w, g.notify)


def _vsg_entry(e: VsgEntry) -> list[str]:
    if e.fwmark is not None:
        return ["fwmark", str(e.fwmark), *([e.family] if e.family else [])]
    addr = f"{e.first}-{e.last}" if e.last is not None else str(e.first)
    return [addr, *([str(e.port)] if e.port is not None else [])]


def render_vsg(w: Writer, g: VirtualServerGroup) -> None:
    with w.block("virtual_server_group", quote(g.name)):
        for e in g.entries:
            w.line(*_vsg_entry(e))


def render_checker(w: Writer, c: CheckerCommon | FileCheck) -> None:
    with w.block(c.kind):
        _scalars(w, c, frozenset({"url", "hosts", "payload", "require_reply", "weight", "weight_reverse"}))
        for url in getattr(c, "url", ()):
            render_url(w, url)
        for host in getattr(c, "hosts", ()):
            with w.block("host"):
                _scalars(w, host)
        if getattr(c, "payload", None) is not None:
            w.line("payload", c.payload)
        if getattr(c, "require_reply", None) is not None:
            w.line("require_reply", *([c.require_reply] if c.require_reply else []))
        if getattr(c, "weight", None) is not None:
            w.line("weight", str(c.weight), *(["reverse"] if c.weight_reverse else []))


def render_url(w: Writer, u: Url) -> None:
    with w.block("url"):
        _scalars(w, u, frozenset({"status_code", "regex", "regex_stack"}))
        if u.status_code:
            w.line("status_code", *(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in u.status_code))
        if u.regex is not None:  # quoted: a bare word would take keepalived's C escapes again
            w.line("regex", quoted(u.regex))
        if u.regex_stack is not None:
            w.line("regex_stack", *map(str, u.regex_stack))


def _method(w: Writer, method: str | None, tunnel: Tunnel | None) -> None:
    if method is not None:
        w.line("lvs_method", method, *(tunnel.words() if tunnel is not None else []))


def render_real_server(w: Writer, rs: RealServer) -> None:
    head = [str(rs.ip), *([str(rs.port)] if rs.port is not None else [])]
    with w.block("real_server", *head):
        _scalars(w, rs, frozenset({"ip", "port", "timing", "checkers", "lvs_method", "tunnel"}))
        _method(w, rs.lvs_method, rs.tunnel)
        _scalars(w, rs.timing)
        for c in rs.checkers:
            render_checker(w, c)


def render_virtual_server(w: Writer, vs: VirtualServer) -> None:
    if vs.group is not None:
        head = ["group", quote(vs.group)]
    elif vs.fwmark is not None:
        head = ["fwmark", str(vs.fwmark)]
    else:
        head = [str(vs.ip), *([str(vs.port)] if vs.port is not None else [])]
    with w.block("virtual_server", *head):
        if vs.fwmark is None or vs.protocol != "TCP":  # unsaid, an address service is UDP (keepalived)
            w.line("protocol", vs.protocol)
        _scalars(w, vs, frozenset({"ip", "port", "fwmark", "group", "timing", "real_servers", "sorry_server",
                                   "lvs_method", "tunnel", "sched_flags", "protocol"}))
        for flag in vs.sched_flags:
            w.line(flag)
        if vs.lvs_method != "NAT" or vs.tunnel is not None:
            _method(w, vs.lvs_method, vs.tunnel)
        if vs.sorry_server is not None:
            s = vs.sorry_server
            w.line("sorry_server", str(s.ip), *([str(s.port)] if s.port is not None else []))
            if s.lvs_method is not None:
                w.line("sorry_server_lvs_method", s.lvs_method, *(s.tunnel.words() if s.tunnel else []))
        _scalars(w, vs.timing)
        for rs in vs.real_servers:
            render_real_server(w, rs)


def render(config: Config) -> str:
    w = Writer()
    if config.net_namespace is not None:
        w.line("net_namespace", quote(config.net_namespace))
    if config.global_defs != GlobalDefs():
        render_global_defs(w, config.global_defs)
    if config.ssl is not None:
        with w.block("SSL"):
            _scalars(w, config.ssl)
    for s in config.vrrp_scripts.values():
        render_vrrp_script(w, s)
    for t in config.track_files.values():
        render_track_file(w, t)
    for p in config.track_processes.values():
        render_track_process(w, p)
    for b in config.bfd_instances.values():
        render_bfd_instance(w, b)
    for name, fmt_item in (("static_ipaddress", _vip), ("static_routes", _route), ("static_rules", _rule)):
        _items(w, name, getattr(config, name), fmt_item)
    for i in config.vrrp_instances.values():
        render_instance(w, i)
    for g in config.vrrp_sync_groups.values():
        render_sync_group(w, g)
    for g in config.virtual_server_groups.values():
        render_vsg(w, g)
    for vs in config.virtual_servers:
        render_virtual_server(w, vs)
    return w.text()


__all__ = ["Writer", "quote", "render"]
