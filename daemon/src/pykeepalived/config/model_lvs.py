"""Typed model of the load-balancing side: virtual servers, real servers, checkers.

Settings that keepalived inherits virtual server -> real server -> checker
are ``None`` when not given; :func:`effective` resolves them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Union

from .errors import Location
from .model_vrrp import IPAddress, Script, _loc, _locs

# Where unset everywhere (keepalived.conf(5), "Virtual server(s)").
INHERITED_DEFAULTS = {
    "connect_timeout": 5.0,
    "delay_loop": 60.0,
    "inhibit_on_failure": False,
    "alpha": False,
    "virtualhost": None,
}


@dataclass
class CheckerConnection:
    """Where a check connects from and to (a checker's, or an SMTP_CHECK ``host { }``'s)."""

    connect_ip: IPAddress | None = None
    connect_port: int | None = None
    bindto: IPAddress | None = None
    bind_port: int | None = None
    bind_if: str | None = None
    fwmark: int | None = None
    connect_timeout: float | None = None


@dataclass
class CheckerCommon(CheckerConnection):
    """Options every checker accepts (MISC_CHECK only the timing ones)."""

    retry: int | None = None
    delay_before_retry: float | None = None
    warmup: float | None = None
    delay_loop: float | None = None
    alpha: bool | None = None
    log_all_failures: bool = False
    loc: Location = _loc()
    locs: dict[str, Location] = _locs()


@dataclass
class TcpCheck(CheckerCommon):
    kind: str = "TCP_CHECK"


@dataclass
class PingCheck(CheckerCommon):
    kind: str = "PING_CHECK"


@dataclass
class Url:
    path: str
    digest: str | None = None
    status_code: tuple[tuple[int, int], ...] = ()  # () = keepalived's 200-299
    virtualhost: str | None = None
    # the body must (regex_no_match: must not) match regex, starting within the offsets (config/url_regex.py)
    regex: str | None = None
    regex_no_match: bool = False
    regex_options: tuple[str, ...] = ()
    regex_min_offset: int | None = None
    regex_max_offset: int | None = None
    regex_stack: tuple[int, int] | None = None  # PCRE2's JIT stack: accepted, nothing to size in Python's re
    loc: Location = _loc()
    locs: dict[str, Location] = _locs()


@dataclass
class SslClient:
    """The top-level ``SSL { }`` block: SSL_GET's client certificate (keepalived verifies no server)."""

    ca: str | None = None
    certificate: str | None = None
    key: str | None = None
    password: str | None = None
    loc: Location = _loc()
    locs: dict[str, Location] = _locs()


@dataclass
class HttpCheck(CheckerCommon):
    kind: str = "HTTP_GET"  # or SSL_GET
    url: tuple[Url, ...] = ()
    virtualhost: str | None = None
    http_protocol: str | None = None
    enable_sni: bool = False
    fast_recovery: bool = False


@dataclass
class SmtpCheck(CheckerCommon):
    kind: str = "SMTP_CHECK"
    helo_name: str | None = None
    hosts: tuple[SmtpHost, ...] = ()


@dataclass
class SmtpHost(CheckerConnection):
    """keepalived's deprecated ``host { ... }`` inside SMTP_CHECK: one more SMTP checker."""

    loc: Location = _loc()
    locs: dict[str, Location] = _locs()


@dataclass
class UdpCheck(CheckerCommon):
    """UDP_CHECK; hex patterns are canonical: two characters a byte, ``x`` a wildcard nibble."""

    kind: str = "UDP_CHECK"
    payload: str | None = None  # None: keepalived sends an arbitrary datagram
    require_reply: str | None = None  # None: not required; "": any reply; else the pattern
    min_reply_length: int = 0
    max_reply_length: int = 255


@dataclass
class FileCheck:
    """FILE_CHECK: a top-level track_file read for a real server (none of the common options)."""

    kind: str = "FILE_CHECK"
    track_file: str = ""
    weight: int | None = None  # None: the track_file's weight
    weight_reverse: bool = False
    dynamic: bool = False
    loc: Location = _loc()
    locs: dict[str, Location] = _locs()


@dataclass
class DnsCheck(CheckerCommon):
    kind: str = "DNS_CHECK"
    type: str = "SOA"
    name: str = "."


@dataclass
class MiscCheck(CheckerCommon):
    kind: str = "MISC_CHECK"
    misc_path: Script | None = None
    misc_timeout: float | None = None
    misc_dynamic: bool = False
    user: tuple[str, ...] = ()


Checker = Union[TcpCheck, PingCheck, HttpCheck, SmtpCheck, DnsCheck, MiscCheck, UdpCheck, FileCheck]

# keepalived's per-checker retry and delay_before_retry defaults.
RETRY_DEFAULT = {"DNS_CHECK": 3, "MISC_CHECK": 0}
DELAY_BEFORE_RETRY_DEFAULT = {"HTTP_GET": 3.0, "SSL_GET": 3.0}


@dataclass
class Timing:
    """Options a real server inherits from its virtual server."""

    connect_timeout: float | None = None
    retry: int | None = None
    delay_before_retry: float | None = None
    warmup: float | None = None
    delay_loop: float | None = None
    inhibit_on_failure: bool | None = None
    alpha: bool | None = None
    virtualhost: str | None = None
    smtp_alert: bool | None = None


TUNNEL_TYPES = ("ipip", "gue", "gre")
TUNNEL_CSUMS = ("nocsum", "csum", "remcsum")


@dataclass(frozen=True)
class Tunnel:
    """``lvs_method TUN type ipip|gue|gre [port N] [nocsum|csum|remcsum]`` (IPVS, Linux 5.2/5.3)."""

    type: str = "ipip"
    port: int = 0  # the GUE port (gue only)
    csum: str = "nocsum"

    def words(self) -> list[str]:
        """As written after ``lvs_method TUN`` (nothing for plain ipip)."""
        if self == Tunnel():
            return []
        return ["type", self.type, *(["port", str(self.port)] if self.port else []),
                *([self.csum] if self.csum != "nocsum" else [])]


@dataclass
class RealServer:
    ip: IPAddress
    port: int | None = None
    weight: int = 1
    lvs_method: str | None = None  # None: the virtual server's
    tunnel: Tunnel | None = None  # with lvs_method TUN: its options (None: ipip)
    notify_up: Script | None = None
    notify_down: Script | None = None
    uthreshold: int | None = None
    lthreshold: int | None = None
    timing: Timing = field(default_factory=Timing)
    checkers: tuple[Checker, ...] = ()
    loc: Location = _loc()
    locs: dict[str, Location] = _locs()

    @property
    def key(self) -> tuple[str, int | None]:
        return (str(self.ip), self.port)


@dataclass
class SorryServer:
    ip: IPAddress
    port: int | None = None
    lvs_method: str | None = None  # sorry_server_lvs_method; None: the virtual server's
    tunnel: Tunnel | None = None
    loc: Location = _loc()


@dataclass
class VirtualServer:
    """``virtual_server IP PORT | fwmark N | group NAME { ... }``."""

    ip: IPAddress | None = None
    port: int | None = None
    fwmark: int | None = None
    group: str | None = None
    lvs_sched: str = "wlc"
    sched_flags: tuple[str, ...] = ()  # flag-1..3, sh-port, sh-fallback, mh-port, mh-fallback, as written
    ops: bool = False  # one-packet scheduling (UDP or fwmark)
    lvs_method: str = "NAT"
    tunnel: Tunnel | None = None  # with lvs_method TUN: its options (None: ipip)
    protocol: str = "TCP"  # fwmark services; an address or group one without it is UDP (keywords/lvs.py)
    persistence_timeout: int | None = None
    persistence_granularity: IPAddress | None = None
    persistence_engine: str | None = None  # IPVS persistence engine (the kernel has "sip")
    ha_suspend: bool = False
    omega: bool = False
    quorum: int = 1
    hysteresis: int = 0
    quorum_up: Script | None = None
    quorum_down: Script | None = None
    ip_family: str | None = None
    sorry_server: SorryServer | None = None
    sorry_server_inhibit: bool = False
    timing: Timing = field(default_factory=Timing)
    real_servers: tuple[RealServer, ...] = ()
    loc: Location = _loc()
    locs: dict[str, Location] = _locs()

    @property
    def name(self) -> str:
        """keepalived's way of naming a virtual server in logs."""
        if self.group is not None:
            return f"group {self.group}"
        if self.fwmark is not None:
            return f"fwmark {self.fwmark}"
        ip = f"[{self.ip}]" if self.ip is not None and self.ip.version == 6 else str(self.ip)
        return f"{ip}:{self.port}" if self.port is not None else ip

    @property
    def key(self) -> str:
        """The one name of a virtual server across the daemon (checkers, LB plane, control
        socket, quorum state): its protocol plus keepalived's name, e.g. ``TCP 192.0.2.1:80``."""
        return f"{self.protocol} {self.name}"


@dataclass
class VsgEntry:
    """A ``virtual_server_group`` line: an address (or range) with a port, or a fwmark."""

    first: IPAddress | None = None
    last: IPAddress | None = None  # inclusive end of a range; None = single address
    port: int | None = None
    fwmark: int | None = None
    family: str | None = None
    loc: Location = _loc()


@dataclass
class VirtualServerGroup:
    name: str
    entries: tuple[VsgEntry, ...] = ()
    loc: Location = _loc()


def effective(name: str, checker: CheckerCommon | None, rs: RealServer, vs: VirtualServer):
    """Resolve an inherited setting: checker, then real server, then virtual server."""
    for source in (checker, rs.timing, vs.timing):
        value = getattr(source, name, None) if source is not None else None
        if value is not None:
            return value
    kind = getattr(checker, "kind", "")
    if name == "retry":
        return RETRY_DEFAULT.get(kind, 1)
    if name == "delay_before_retry":
        if kind == "DNS_CHECK":
            return effective("delay_loop", checker, rs, vs)
        return DELAY_BEFORE_RETRY_DEFAULT.get(kind, 1.0)
    if name == "warmup":
        return effective("delay_loop", checker, rs, vs)
    return INHERITED_DEFAULTS.get(name)


__all__ = [
    "Checker", "CheckerCommon", "DnsCheck", "FileCheck", "HttpCheck", "MiscCheck", "PingCheck",
    "RealServer", "SmtpCheck", "SmtpHost", "SorryServer", "TcpCheck", "Timing", "UdpCheck", "Url", "VirtualServer",
    "VirtualServerGroup", "VsgEntry", "effective", "ipaddress",
]
