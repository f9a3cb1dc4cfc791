"""Lab topologies: YAML files describing segments (bridges) and hosts (NICs, addresses).

A topology file looks like::

    name: five
    segments: [lan]              # one bridge per segment, all in the switch netns
    hosts:
      lb1:
        groups: [loadbalancers]  # Ansible groups in the generated inventory
        nics:
          eth0: {segment: lan, addresses: [192.0.2.11/24]}
      client:
        systemd: false           # netns-only host: fast, no ssh, shares the real /
        nics: {eth0: 192.0.2.100/24}
      old:
        root: bullseye           # its root is a Debian 11 (lab/roots.py), not the machine's /
        nics: {eth0: 192.0.2.30/24}
    user_namespaces: false       # true: each systemd host in a user namespace of its own
                                 # (lab/userns.py: many hosts under root's inotify limit)

A NIC given as a plain string is an address on the only segment.  Addresses are
restricted to documentation and private test ranges so nothing can ever clash
with a real network.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .roots import RELEASES

TOPOLOGY_DIR = Path(__file__).parent / "topologies"

# Only these ranges may appear in a lab (RFC 5737, RFC 1918 10/8, RFC 3849).
ALLOWED_NETWORKS = [
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "10.0.0.0/8", "2001:db8::/32")
]
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
IFACE_RE = re.compile(r"^[a-z][a-z0-9.]{0,14}$")
# A net.* sysctl name; anything else would reach the real kernel's shared settings.
NET_SYSCTL_RE = re.compile(r"^net\.[a-z0-9_.\-/]+$")


class TopologyError(ValueError):
    """The topology file is not valid; the message says where and why."""


@dataclass(frozen=True)
class Nic:
    """One interface of a host, plugged into a segment's bridge."""

    name: str
    segment: str
    addresses: tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, ...]


@dataclass(frozen=True)
class Host:
    """A lab host: a netns, and with systemd also its own root, PID 1 and sshd."""

    name: str
    nics: tuple[Nic, ...]
    systemd: bool = True
    groups: tuple[str, ...] = ()
    gateway: str | None = None
    sysctls: dict[str, str] = field(default_factory=dict)
    root: str | None = None  # a release of lab/roots.py; None: the machine's own /

    @property
    def address(self) -> str:
        """The first IPv4 address (without prefix), used as ansible_host."""
        for nic in self.nics:
            for iface in nic.addresses:
                if iface.version == 4:
                    return str(iface.ip)
        for nic in self.nics:
            if nic.addresses:
                return str(nic.addresses[0].ip)
        raise TopologyError(f"host {self.name} has no address")

    def addresses(self, nic: str | None = None) -> list[str]:
        """Addresses with prefix length (e.g. '192.0.2.11/24'), optionally for one NIC."""
        return [str(a) for n in self.nics if nic in (None, n.name) for a in n.addresses]


@dataclass(frozen=True)
class Topology:
    """A parsed, validated topology."""

    name: str
    segments: tuple[str, ...]
    hosts: tuple[Host, ...]
    source: Path | None = None
    # Each systemd host in a user namespace of its own (lab/userns.py: inotify limits).
    user_namespaces: bool = False

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(f"no host {name!r} in topology {self.name!r}")

    def to_data(self) -> dict:
        """The topology as YAML-ready data that `parse` reads back to an equal Topology."""
        hosts = {}
        for h in self.hosts:
            nics = {n.name: {"segment": n.segment, "addresses": [str(a) for a in n.addresses]}
                    for n in h.nics}
            hosts[h.name] = {"systemd": h.systemd, "groups": list(h.groups), "gateway": h.gateway,
                             "sysctls": dict(h.sysctls), "root": h.root, "nics": nics}
        return {"name": self.name, "segments": list(self.segments), "hosts": hosts,
                "user_namespaces": self.user_namespaces}

    def without_systemd(self) -> Topology:
        """The same topology with every host netns-only (used inside UML; no own roots either)."""
        hosts = tuple(
            Host(h.name, h.nics, False, h.groups, h.gateway, dict(h.sysctls)) for h in self.hosts
        )
        return Topology(self.name, self.segments, hosts, self.source, self.user_namespaces)


def resolve(spec: str | Path) -> Path:
    """A topology path, or a bare name looked up in lab/topologies/ ('five' or 'five.yml')."""
    path = Path(spec)
    if path.exists():
        return path.resolve()
    for candidate in (TOPOLOGY_DIR / path.name, TOPOLOGY_DIR / f"{path.name}.yml"):
        if candidate.exists():
            return candidate
    raise TopologyError(f"topology {spec!s} not found (nor in {TOPOLOGY_DIR})")


def load(spec: str | Path) -> Topology:
    """Read and validate a topology file (see the module docstring for the format)."""
    path = resolve(spec)
    data = yaml.safe_load(path.read_text()) or {}
    try:
        return parse(data, default_name=path.stem, source=path)
    except TopologyError as err:
        raise TopologyError(f"{path}: {err}") from None


def parse(data: dict, default_name: str = "lab", source: Path | None = None) -> Topology:
    """Build a Topology from already-loaded YAML data."""
    if not isinstance(data, dict):
        raise TopologyError("top level must be a mapping")
    name = str(data.get("name", default_name))
    segments = tuple(data.get("segments") or ["lan"])
    for seg in segments:
        _check_name(seg, "segment", IFACE_RE)
    hosts_data = data.get("hosts") or {}
    if not isinstance(hosts_data, dict) or not hosts_data:
        raise TopologyError("'hosts' must be a non-empty mapping")
    hosts = tuple(_parse_host(hname, hdata or {}, segments) for hname, hdata in hosts_data.items())
    _check_unique_addresses(hosts)
    return Topology(name, segments, hosts, source, bool(data.get("user_namespaces", False)))


def _parse_host(name: str, data: dict, segments: tuple[str, ...]) -> Host:
    _check_name(name, "host", NAME_RE)
    unknown = set(data) - {"nics", "systemd", "groups", "gateway", "sysctls", "root"}
    if unknown:
        raise TopologyError(f"host {name}: unknown keys {sorted(unknown)}")
    nics_data = data.get("nics") or {}
    if not nics_data:
        raise TopologyError(f"host {name}: needs at least one NIC")
    nics = tuple(_parse_nic(name, nname, ndata, segments) for nname, ndata in nics_data.items())
    sysctls = {str(k): str(v) for k, v in (data.get("sysctls") or {}).items()}
    for key in sysctls:
        if not NET_SYSCTL_RE.match(key):
            raise TopologyError(f"host {name}: sysctl {key} is not per-netns (only net.*)")
    gateway = data.get("gateway")
    if gateway is not None:
        _check_address(name, ipaddress.ip_address(gateway))
    systemd = bool(data.get("systemd", True))
    root = data.get("root")
    if root is not None:
        if root not in RELEASES:
            raise TopologyError(f"host {name}: root {root!r} is not one of {', '.join(RELEASES)}")
        if not systemd:
            raise TopologyError(f"host {name}: root needs a systemd host (netns-only hosts share /)")
    return Host(
        name=name,
        nics=nics,
        systemd=systemd,
        groups=tuple(data.get("groups") or ()),
        gateway=None if gateway is None else str(gateway),
        sysctls=sysctls,
        root=None if root is None else str(root),
    )


def _parse_nic(host: str, name: str, data: object, segments: tuple[str, ...]) -> Nic:
    _check_name(name, f"host {host}: NIC", IFACE_RE)
    if isinstance(data, str):
        data = {"addresses": [data]}
    if not isinstance(data, dict):
        raise TopologyError(f"host {host}: NIC {name} must be an address or a mapping")
    segment = data.get("segment")
    if segment is None:
        if len(segments) != 1:
            raise TopologyError(f"host {host}: NIC {name} needs 'segment' (several exist)")
        segment = segments[0]
    if segment not in segments:
        raise TopologyError(f"host {host}: NIC {name}: unknown segment {segment!r}")
    raw = data.get("addresses") or ([data["address"]] if "address" in data else [])
    addresses = []
    for text in raw:
        iface = ipaddress.ip_interface(text)
        _check_address(host, iface.ip)
        addresses.append(iface)
    return Nic(name, segment, tuple(addresses))


def _check_name(value: str, what: str, pattern: re.Pattern[str]) -> None:
    if not isinstance(value, str) or not pattern.match(value):
        raise TopologyError(f"{what} name {value!r} must match {pattern.pattern}")


def _check_address(host: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    if not any(ip in net for net in ALLOWED_NETWORKS):
        allowed = ", ".join(map(str, ALLOWED_NETWORKS))
        raise TopologyError(f"host {host}: {ip} is outside the lab ranges ({allowed})")


def _check_unique_addresses(hosts: tuple[Host, ...]) -> None:
    seen: dict[str, str] = {}
    for host in hosts:
        for addr in host.addresses():
            ip = addr.split("/")[0]
            if ip in seen:
                raise TopologyError(f"address {ip} used by both {seen[ip]} and {host.name}")
            seen[ip] = host.name
