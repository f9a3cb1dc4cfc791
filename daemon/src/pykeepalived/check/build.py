"""From the config model to checker objects, resolving keepalived's inheritance."""

from __future__ import annotations

from collections.abc import Mapping

from ..config.model_bfd import BfdCheck
from ..config.model_lvs import (
    CheckerCommon,
    DnsCheck,
    FileCheck,
    HttpCheck,
    MiscCheck,
    PingCheck,
    RealServer,
    SmtpCheck,
    SmtpHost,
    SslClient,
    TcpCheck,
    UdpCheck,
    VirtualServer,
    effective,
)
from ..config.model_vrrp import TrackFile
from ..config.url_regex import compile_regex
from . import bfd as bfd_check
from . import file as file_check
from .base import BaseChecker, Target, Timing
from .dns import DnsChecker
from .file import FileChecker
from .http import DEFAULT_STATUS, HttpChecker, UrlSpec
from .misc import MiscChecker
from .ping import PingChecker
from .smtp import SmtpChecker
from .tcp import TcpChecker
from .udp import UdpChecker

CONNECTION = ("connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "fwmark", "connect_timeout")


def timing(model: CheckerCommon | None, rs: RealServer, vs: VirtualServer) -> Timing:
    """delay_loop / retry / delay_before_retry / warmup / alpha for one checker."""
    return Timing(
        delay_loop=float(effective("delay_loop", model, rs, vs)),
        retry=int(effective("retry", model, rs, vs)),
        delay_before_retry=float(effective("delay_before_retry", model, rs, vs)),
        warmup=float(effective("warmup", model, rs, vs)),
        alpha=bool(effective("alpha", model, rs, vs)),
        log_all_failures=bool(model is not None and model.log_all_failures),
    )


def target(model: CheckerCommon, rs: RealServer, vs: VirtualServer) -> Target:
    """Address, port and source options; connect_ip/port default to the real server's."""
    return Target(
        ip=model.connect_ip or rs.ip,
        port=model.connect_port if model.connect_port is not None else rs.port,
        bindto=model.bindto, bind_port=model.bind_port, bind_if=model.bind_if, fwmark=model.fwmark,
        timeout=float(effective("connect_timeout", model, rs, vs)),
    )


def build_checkers(model: CheckerCommon | FileCheck | BfdCheck, rs: RealServer, vs: VirtualServer,
                   track_files: Mapping[str, TrackFile] | None = None,
                   bfd: bfd_check.EventSource | None = None,
                   ssl_client: SslClient | None = None) -> list[tuple[BaseChecker, Timing]]:
    """The runnable checkers of one checker block with their timers.

    Usually one; an SMTP_CHECK with ``host`` blocks gives one per host (keepalived
    2.2 queues a checker per host, sharing helo_name and timers), plus one for the
    real server unless the block itself sets no connection option.
    """
    if isinstance(model, BfdCheck):
        if bfd is None:
            raise ValueError("BFD_CHECK without BFD sessions to hear")
        return [(bfd_check.BfdChecker(model.name, bfd), bfd_check.timing(bool(effective("alpha", model, rs, vs))))]
    if isinstance(model, FileCheck):
        spec = (track_files or {})[model.track_file]
        weight = spec.weight if model.weight is None else model.weight
        reverse = model.weight_reverse if model.weight is not None else spec.weight_reverse
        return [(FileChecker(spec.file, weight, reverse, rs.weight, spec.init_file), file_check.TIMING)]
    tim = timing(model, rs, vs)
    if isinstance(model, SmtpCheck) and model.hosts:
        helo = model.helo_name
        own = any(getattr(model, name) is not None for name in CONNECTION)
        return ([(SmtpChecker(target(model, rs, vs), helo), tim)] if own else []) + \
            [(SmtpChecker(host_target(host, rs, vs), helo), tim) for host in model.hosts]
    return [(build_checker(model, rs, vs, ssl_client), tim)]


def host_target(host: SmtpHost, rs: RealServer, vs: VirtualServer) -> Target:
    """An SMTP ``host`` block: the real server's address and port unless given; the
    timeout is the host's, else the real server's or virtual server's (not the checker's)."""
    return Target(
        ip=host.connect_ip or rs.ip,
        port=host.connect_port if host.connect_port is not None else rs.port,
        bindto=host.bindto, bind_port=host.bind_port, bind_if=host.bind_if, fwmark=host.fwmark,
        timeout=float(host.connect_timeout if host.connect_timeout is not None
                      else effective("connect_timeout", None, rs, vs)),
    )


def build_checker(model: CheckerCommon, rs: RealServer, vs: VirtualServer,
                  ssl_client: SslClient | None = None) -> BaseChecker:
    """The runnable checker for one checker block of a real server (``ssl_client``: the SSL block)."""
    if isinstance(model, MiscCheck):
        if model.misc_path is None:
            raise ValueError("MISC_CHECK without misc_path")
        script = model.misc_path
        user = model.user[0] if model.user else script.user
        group = model.user[1] if len(model.user) > 1 else script.group
        # keepalived: misc_timeout defaults to the checker's delay_loop.
        timeout = model.misc_timeout or float(effective("delay_loop", model, rs, vs))
        return MiscChecker(script.argv, timeout, model.misc_dynamic, user, group)
    tgt = target(model, rs, vs)
    if isinstance(model, HttpCheck):
        default_vhost = effective("virtualhost", model, rs, vs)
        urls = tuple(UrlSpec(u.path, u.digest.lower() if u.digest else None, u.status_code or DEFAULT_STATUS,
                             u.virtualhost or default_vhost,
                             compile_regex(u.regex, u.regex_options) if u.regex is not None else None,
                             u.regex_no_match, u.regex_min_offset or 0, u.regex_max_offset)
                     for u in model.url)
        tls = model.kind == "SSL_GET"
        sni = default_vhost if tls and model.enable_sni else None
        return HttpChecker(tgt, urls, tls, model.http_protocol or "1.0", sni, ssl_client)
    if isinstance(model, SmtpCheck):
        return SmtpChecker(tgt, model.helo_name)
    if isinstance(model, UdpCheck):
        payload = bytes.fromhex(model.payload) if model.payload is not None else None
        return UdpChecker(tgt, payload, model.require_reply, model.min_reply_length, model.max_reply_length)
    if isinstance(model, DnsCheck):
        return DnsChecker(tgt, model.type, model.name)
    if isinstance(model, PingCheck):
        return PingChecker(tgt)
    if isinstance(model, TcpCheck):
        return TcpChecker(tgt)
    raise ValueError(f"unsupported checker {getattr(model, 'kind', model)!r}")
