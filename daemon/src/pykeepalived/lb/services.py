"""From a configured virtual_server to kernel service specs (pure).

A ``virtual_server group NAME`` becomes one service per group entry, address
ranges expanded (keepalived does the same: IPVS has no ranges); a fwmark
virtual server or entry becomes a fwmark service.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from ..config.model_lvs import RealServer, VirtualServer, VirtualServerGroup, VsgEntry
from .table import ServiceKey, ServiceSpec, norm_addr

MAX_RANGE = 65536  # a typo such as 10.0.0.1-10.255.0.1 must not build millions of services


def rs_key(rs: RealServer) -> tuple[str, int | None]:
    return (norm_addr(rs.ip), rs.port)


def _family(vs: VirtualServer, hint: str | None = None) -> int:
    """Address family of a fwmark service: explicit, else the real servers', else IPv4."""
    fam = hint or vs.ip_family
    if fam in ("inet6", "ipv6"):
        return 6
    if fam in ("inet", "ipv4"):
        return 4
    for rs in vs.real_servers:
        return rs.ip.version
    return 4


def _netmask(vs: VirtualServer, af: int) -> int:
    g = vs.persistence_granularity
    if g is None:
        return 128 if af == 6 else 32
    if af == 4 and g.version == 4:
        return ipaddress.IPv4Network(f"0.0.0.0/{g}").prefixlen
    return 128 if af == 6 else 32  # IPv6 granularity: not supported by the config model (yet)


# IP_VS_SVC_F_*: ops, and the scheduler flags ipvsadm -b names (flag-1 is sh-fallback and
# mh-fallback, flag-2 sh-port and mh-port: each scheduler reads its own meaning into them)
SERVICE_FLAGS = {"ops": 0x4, "flag-1": 0x8, "sh-fallback": 0x8, "mh-fallback": 0x8,
                 "flag-2": 0x10, "sh-port": 0x10, "mh-port": 0x10, "flag-3": 0x20}


def _spec(vs: VirtualServer, key: ServiceKey) -> ServiceSpec:
    persistent = vs.persistence_timeout is not None
    flags = 0
    for name in (*vs.sched_flags, *(["ops"] if vs.ops else [])):
        flags |= SERVICE_FLAGS[name]
    return ServiceSpec(key, vs.lvs_sched, persistent, vs.persistence_timeout or 0,
                       _netmask(vs, key.af) if persistent else 0, flags, vs.persistence_engine or "")


def _entry_keys(vs: VirtualServer, entry: VsgEntry) -> Iterator[ServiceKey]:
    if entry.fwmark is not None:
        yield ServiceKey.mark(_family(vs, entry.family), entry.fwmark)
        return
    first = entry.first
    last = entry.last if entry.last is not None else first
    count = int(last) - int(first) + 1
    if count > MAX_RANGE:
        raise ValueError(f"virtual_server_group range {first}-{last} has {count} addresses (max {MAX_RANGE})")
    port = entry.port if entry.port is not None else (vs.port or 0)
    for n in range(count):
        yield ServiceKey.ip(vs.protocol, ipaddress.ip_address(int(first) + n) if first.version == 4
                            else ipaddress.IPv6Address(int(first) + n), port)


def service_specs(vs: VirtualServer, groups: dict[str, VirtualServerGroup]) -> list[ServiceSpec]:
    """The kernel services one virtual_server block stands for (in config order)."""
    if vs.group is not None:
        group = groups.get(vs.group)
        keys = [k for e in group.entries for k in _entry_keys(vs, e)] if group else []
    elif vs.fwmark is not None:
        keys = [ServiceKey.mark(_family(vs), vs.fwmark)]
    else:
        keys = [ServiceKey.ip(vs.protocol, vs.ip, vs.port or 0)]
    seen: dict[ServiceKey, ServiceSpec] = {}
    for k in keys:
        seen.setdefault(k, _spec(vs, k))
    return list(seen.values())
