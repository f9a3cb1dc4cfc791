"""Plain data for a load-balancing table: services, destinations, operations.

Both the desired state (desired.py) and what a backend dumps from the kernel
are a :data:`Table`, so reconcile.py can diff them without knowing IPVS.
Statistics (connection counts) ride along on :class:`Dest` but take no part
in equality: a diff never reacts to traffic.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field

from ..config.model_lvs import Tunnel

METHODS = ("NAT", "DR", "TUN")
PROTOCOLS = ("TCP", "UDP", "SCTP")
# The kernel reports LOCAL for a destination that is one of its own addresses,
# whatever method was asked for; reconcile treats it as matching any method.
LOCAL = "LOCAL"


def norm_addr(addr: object) -> str:
    """One spelling per address (compressed IPv6), so keys compare equal."""
    return _norm(str(addr))


@functools.lru_cache(maxsize=1 << 17)
def _norm(text: str) -> str:  # cached: a reload of 40,000 real servers parsed each address ~5 times
    return str(ipaddress.ip_address(text))


@dataclass(frozen=True, order=True)
class ServiceKey:
    """What identifies a virtual service in the kernel.

    fwmark services have no address, port or protocol (the kernel ignores and
    does not report the protocol of a fwmark service).
    """

    af: int  # 4 or 6
    protocol: str = ""  # TCP, UDP, SCTP; "" for fwmark
    addr: str = ""
    port: int = 0
    fwmark: int = 0

    @classmethod
    def ip(cls, protocol: str, addr: object, port: int) -> ServiceKey:
        a = norm_addr(addr)
        return cls(6 if ":" in a else 4, protocol, a, port)

    @classmethod
    def mark(cls, af: int, fwmark: int) -> ServiceKey:
        return cls(af, "", "", 0, fwmark)

    def __str__(self) -> str:
        if self.fwmark:
            return f"FWM {self.fwmark}" + (" IPv6" if self.af == 6 else "")
        addr = f"[{self.addr}]" if self.af == 6 else self.addr
        return f"{self.protocol} {addr}:{self.port}"


@dataclass(frozen=True)
class ServiceSpec:
    """The settable attributes of a service ("set" changes any of them in place)."""

    key: ServiceKey
    sched: str = "wlc"
    persistent: bool = False
    timeout: int = 0  # persistence timeout, seconds
    netmask: int = 0  # persistence granularity as a prefix length; 0: the whole address
    flags: int = 0  # IPVS one-packet and scheduler flags (lb/services.py SERVICE_FLAGS), persistence apart
    pe_name: str = ""  # persistence engine ("sip"), "" for none

    def __post_init__(self) -> None:
        if not self.netmask:  # one spelling for "whole address", so specs compare equal
            object.__setattr__(self, "netmask", 128 if self.key.af == 6 else 32)


@dataclass(frozen=True)
class Dest:
    """One real server of a service."""

    addr: str
    port: int
    method: str = "NAT"
    weight: int = 1
    u_thresh: int = 0
    l_thresh: int = 0
    tunnel: Tunnel = Tunnel()  # TUN's encapsulation (the kernel reports ipip for every method)
    active: int = field(default=0, compare=False)
    inactive: int = field(default=0, compare=False)
    persistent: int = field(default=0, compare=False)

    @property
    def key(self) -> tuple[str, int]:
        return (self.addr, self.port)

    def __str__(self) -> str:
        addr = f"[{self.addr}]" if ":" in self.addr else self.addr
        return f"{addr}:{self.port}"


@dataclass
class Service:
    spec: ServiceSpec
    dests: dict[tuple[str, int], Dest] = field(default_factory=dict)

    @property
    def key(self) -> ServiceKey:
        return self.spec.key


Table = dict[ServiceKey, Service]


@dataclass(frozen=True)
class Op:
    """One backend operation. ``action`` is add, set or del; never "update"."""

    action: str
    service: ServiceSpec
    dest: Dest | None = None

    @property
    def kind(self) -> str:
        return "service" if self.dest is None else "dest"

    def __str__(self) -> str:
        target = str(self.service.key) + (f" -> {self.dest}" if self.dest else "")
        return f"{self.action} {self.kind} {target}"


def make_table(*services: Service) -> Table:
    return {s.key: s for s in services}


def service(spec: ServiceSpec, *dests: Dest) -> Service:
    return Service(spec, {d.key: d for d in dests})
