"""From the config model to checker objects, resolving keepalived's inheritance."""

from __future__ import annotations

from ..config.model_lvs import (
    CheckerCommon,
    DnsCheck,
    HttpCheck,
    MiscCheck,
    PingCheck,
    RealServer,
    SmtpCheck,
    TcpCheck,
    VirtualServer,
    effective,
)
from .base import BaseChecker, Target, Timing
from .dns import DnsChecker
from .http import DEFAULT_STATUS, HttpChecker, UrlSpec
from .misc import MiscChecker
from .ping import PingChecker
from .smtp import SmtpChecker
from .tcp import TcpChecker


def timing(model: CheckerCommon | None, rs: RealServer, vs: VirtualServer) -> Timing:
    """delay_loop / retry / delay_before_retry / warmup / alpha for one checker."""
    return Timing(
        delay_loop=float(effective("delay_loop", model, rs, vs)),
        retry=int(effective("retry", model, rs, vs)),
        delay_before_retry=float(effective("delay_before_retry", model, rs, vs)),
        warmup=float(effective("warmup", model, rs, vs)),
        alpha=bool(effective("alpha", model, rs, vs)),
    )


def target(model: CheckerCommon, rs: RealServer, vs: VirtualServer) -> Target:
    """Address, port and source options; connect_ip/port default to the real server's."""
    return Target(
        ip=model.connect_ip or rs.ip,
        port=model.connect_port if model.connect_port is not None else rs.port,
        bindto=model.bindto, bind_port=model.bind_port, bind_if=model.bind_if, fwmark=model.fwmark,
        timeout=float(effective("connect_timeout", model, rs, vs)),
    )


def build_checker(model: CheckerCommon, rs: RealServer, vs: VirtualServer) -> BaseChecker:
    """The runnable checker for one checker block of a real server."""
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
                             u.virtualhost or default_vhost) for u in model.url)
        tls = model.kind == "SSL_GET"
        sni = default_vhost if tls and model.enable_sni else None
        return HttpChecker(tgt, urls, tls, model.http_protocol or "1.0", sni)
    if isinstance(model, SmtpCheck):
        return SmtpChecker(tgt, model.helo_name)
    if isinstance(model, DnsCheck):
        return DnsChecker(tgt, model.type, model.name)
    if isinstance(model, PingCheck):
        return PingChecker(tgt)
    if isinstance(model, TcpCheck):
        return TcpChecker(tgt)
    raise ValueError(f"unsupported checker {getattr(model, 'kind', model)!r}")
