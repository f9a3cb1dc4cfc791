"""VMAC (keepalived's ``use_vmac``): a macvlan carrying the virtual router MAC.

RFC 5798 7.3 gives each virtual router the MAC 00:00:5e:00:01:VRID (IPv4)
or 00:00:5e:00:02:VRID (IPv6); keepalived 2.2 gives it a macvlan in mode
private on the instance's interface, named ``vrrp.VRID`` (``vmac_prefix``)
or as configured, so a switch or a client's ARP cache sees the same MAC
whichever router is master.  As keepalived 2.2.7 (vrrp_vmac.c,
vrrp_if_config.c) does, we:

- create it at start, up from then on (in both states: only the master
  holds the VIPs, and with arp_ignore 1 only the interface holding an
  address answers for it), and delete it at stop;
- for IPv4 set on it arp_ignore 1, accept_local 1, rp_filter 0 and
  promote_secondaries 1, and on its base interface arp_ignore 1 and
  arp_filter 1 (so the base does not answer ARP for the VIPs with its own
  MAC), restored when the base's last VMAC goes; IPv6 off on an IPv4 VMAC,
  and no kernel-made link-local (addr_gen_mode none; RFC 5798 7.4); and, as
  keepalived, when net.ipv4.conf.all.rp_filter is set (the kernel uses the
  larger of "all" and the interface's, so the VMAC's 0 would not count),
  raise "default" and every interface below it to its value, then set
  "all" to 0 (restored with the last IPv4 VMAC, where nobody changed it);
- keep the VMAC's own IGMP / MLD reports off the wire (keepalived's nftables rules):
  a backup joining 224.0.0.18 on its VMAC would send a report with the
  virtual MAC, and a switch would then send the master's traffic to the
  backup until the master's next advert (seen in the lab: a ~120 ms gap
  in a client's pings while a backup started).  Each report goes out of the
  base interface instead (``dup``), and router solicitations are dropped;
  tables ``ip pykeepalived_vmac`` and ``ip6 pykeepalived_vmac``, rewritten
  whole when the VMACs change, deleted with the last;
- never touch a link we did not create: the links we create are recorded
  (name and ifindex) under the runtime dir, so a daemon killed with -9
  adopts its own VMAC at the next start (or replaces it if it no longer
  matches), and refuses a same-named link someone else made.

The encoders and ``parse_links`` are pure; ``VmacManager`` does the I/O
(rtnetlink through net/rtnl.py, sysctls under /proc/sys/net of the
daemon's own network namespace).
"""
from __future__ import annotations

import errno
import json
import logging
import socket
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import rtnl

log = logging.getLogger(__name__)

IFNAMSIZ = 16
IFF_UP = 0x1
IFLA_LINK, IFLA_LINKINFO, IFLA_AF_SPEC = 5, 18, 26
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
IFLA_MACVLAN_MODE = 1
MACVLAN_MODE_PRIVATE = 1
IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE = 8, 1
VRRP_MAC_PREFIX = b"\x00\x00\x5e\x00"
DEFAULT_PREFIX = "vrrp"

# keepalived's vmac_sysctl and parent_sysctl (IPv4 VMACs only)
VMAC_SYSCTLS = {"arp_ignore": 1, "accept_local": 1, "rp_filter": 0, "promote_secondaries": 1}
BASE_SYSCTLS = {"arp_ignore": 1, "arp_filter": 1}


def virtual_mac(vrid: int, family: int) -> bytes:
    """RFC 5798 7.3: 00:00:5e:00:01:VRID (IPv4), 00:00:5e:00:02:VRID (IPv6)."""
    return VRRP_MAC_PREFIX + bytes((1 if family == 4 else 2, vrid))


def vmac_name(prefix: str | None, vrid: int) -> str:
    """``PREFIX.VRID`` (keepalived's default name), the prefix cut to fit IFNAMSIZ."""
    suffix = f".{vrid}"
    return (prefix or DEFAULT_PREFIX)[:IFNAMSIZ - 1 - len(suffix)] + suffix


def mac_text(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


@dataclass(frozen=True)
class VmacSpec:
    """One instance's VMAC: its name, base interface, MAC and the instance's family."""

    name: str
    base: str
    mac: bytes
    family: int = 4
    link_local: str | None = None  # IPv6, adverts sent from the VMAC: the base's link-local, copied


@dataclass(frozen=True)
class LinkInfo:
    index: int
    name: str
    mac: bytes
    base_index: int  # IFLA_LINK, 0 when absent
    kind: str  # IFLA_INFO_KIND, "" when absent
    macvlan_mode: int | None


def _nested(kind: int, *attrs: bytes) -> bytes:
    return rtnl.encode_attr(kind, b"".join(attrs))


def _link_message(index: int, attrs: bytes = b"", *, flags: int = 0, change: int = 0,
                  msg_flags: int = 0, kind: int = rtnl.RTM_NEWLINK) -> bytes:
    body = rtnl.IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, flags, change) + attrs
    return rtnl.encode_message(kind, rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK | msg_flags, body)


def encode_create(spec: VmacSpec, base_index: int) -> bytes:
    """RTM_NEWLINK, create only: a private-mode macvlan on ``base_index`` with the VMAC's name and MAC."""
    info = _nested(IFLA_LINKINFO, rtnl.encode_attr(IFLA_INFO_KIND, b"macvlan"),
                   _nested(IFLA_INFO_DATA, rtnl.encode_attr(IFLA_MACVLAN_MODE, struct.pack("=I", MACVLAN_MODE_PRIVATE))))
    attrs = info + rtnl.encode_attr(IFLA_LINK, struct.pack("=I", base_index))
    attrs += rtnl.encode_attr(rtnl.IFLA_IFNAME, spec.name.encode() + b"\0")
    attrs += rtnl.encode_attr(rtnl.IFLA_ADDRESS, spec.mac)
    return _link_message(0, attrs, msg_flags=rtnl.NLM_F_CREATE | rtnl.NLM_F_EXCL)


def encode_addr_gen_mode_none(index: int) -> bytes:
    """No kernel-made IPv6 link-local on the VMAC (it would be the same on every router)."""
    mode = rtnl.encode_attr(IFLA_INET6_ADDR_GEN_MODE, bytes((IN6_ADDR_GEN_MODE_NONE,)))
    return _link_message(index, _nested(IFLA_AF_SPEC, _nested(socket.AF_INET6, mode)))


def encode_up(index: int) -> bytes:
    return _link_message(index, flags=IFF_UP, change=IFF_UP)


def encode_delete(index: int) -> bytes:
    return _link_message(index, kind=rtnl.RTM_DELLINK)


def parse_links(data: bytes) -> list[LinkInfo]:
    """Every RTM_NEWLINK of a dump with what tells a VMAC apart: base, kind, macvlan mode."""
    out = []
    for kind, _seq, body in rtnl.messages(data):
        if kind != rtnl.RTM_NEWLINK or len(body) < rtnl.IFINFOMSG.size:
            continue
        index = rtnl.IFINFOMSG.unpack_from(body)[2]
        attrs = rtnl.attributes(body, rtnl.IFINFOMSG.size)
        if rtnl.IFLA_IFNAME not in attrs:
            continue
        info = rtnl.attributes(attrs.get(IFLA_LINKINFO, b""), 0)
        data_attrs = rtnl.attributes(info.get(IFLA_INFO_DATA, b""), 0)
        mode = data_attrs.get(IFLA_MACVLAN_MODE)
        out.append(LinkInfo(
            index=index, name=attrs[rtnl.IFLA_IFNAME].split(b"\0", 1)[0].decode(errors="replace"),
            mac=attrs.get(rtnl.IFLA_ADDRESS, b""),
            base_index=struct.unpack("=I", attrs[IFLA_LINK])[0] if len(attrs.get(IFLA_LINK, b"")) == 4 else 0,
            kind=info.get(IFLA_INFO_KIND, b"").split(b"\0", 1)[0].decode(errors="replace"),
            macvlan_mode=struct.unpack("=I", mode)[0] if mode and len(mode) == 4 else None))
    return out


def matches(link: LinkInfo, spec: VmacSpec, base_index: int) -> bool:
    """Is ``link`` the VMAC ``spec`` asks for (a private macvlan on the base, with its MAC)?"""
    return (link.kind == "macvlan" and link.macvlan_mode == MACVLAN_MODE_PRIVATE
            and link.base_index == base_index and link.mac == spec.mac)


def render_firewall(vmacs: list[tuple[str, str]]) -> str:
    """The nft script for ``[(vmac, base), ...]``: each VMAC's IGMP/MLD reports leave from its base
    instead, router solicitations not at all; no VMACs: no tables."""
    lines = []
    for family, table_rules in (("ip", _igmp_rules), ("ip6", _mld_rules)):
        lines += [f"add table {family} {FIREWALL_TABLE}", f"delete table {family} {FIREWALL_TABLE}"]
        if vmacs:
            lines += [f"table {family} {FIREWALL_TABLE} {{", "  chain out {",
                      "    type filter hook output priority -1; policy accept;"]
            lines += [f"    {rule}" for name, base in vmacs for rule in table_rules(name, base)]
            lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


FIREWALL_TABLE = "pykeepalived_vmac"
MLD_REPORTS = "{ mld-listener-report, mld2-listener-report }"


def _igmp_rules(name: str, base: str) -> list[str]:
    return [f'oifname "{name}" ip protocol igmp dup to ip daddr device "{base}"',
            f'oifname "{name}" ip protocol igmp drop']


def _mld_rules(name: str, base: str) -> list[str]:
    return [f'oifname "{name}" icmpv6 type {MLD_REPORTS} dup to ip6 daddr device "{base}"',
            f'oifname "{name}" icmpv6 type {{ mld-listener-report, mld2-listener-report, nd-router-solicit }} drop']


class Sysctl:
    """net.ipv{4,6}.conf.IF.KEY under ``root`` (/proc/sys/net: the caller's own network namespace)."""

    def __init__(self, root: Path | str = "/proc/sys/net") -> None:
        self.root = Path(root)

    def _path(self, family: int, ifname: str, key: str) -> Path:
        return self.root / f"ipv{family}" / "conf" / ifname / key

    def get(self, family: int, ifname: str, key: str) -> int:
        return int(self._path(family, ifname, key).read_text().split()[0])

    def set(self, family: int, ifname: str, key: str, value: int) -> None:
        self._path(family, ifname, key).write_text(f"{value}\n")

    def interfaces(self, family: int = 4) -> list[str]:
        """The interfaces with a conf directory (not "all" and "default")."""
        return sorted(p.name for p in (self.root / f"ipv{family}" / "conf").iterdir()
                      if p.name not in ("all", "default"))


class VmacError(OSError):
    """A VMAC could not be made (a foreign link holds the name, netlink refused, ...)."""


class VmacManager:
    """Creates, adopts and deletes the VMACs of this daemon; remembers which links are ours."""

    def __init__(self, state: Path | str | None = None, sysctl: Sysctl | None = None) -> None:
        self.state = Path(state) if state is not None else None
        self.sysctl = sysctl or Sysctl()
        record = self._load()
        self._ours: dict[str, dict] = record.get("links", {})  # name -> {"index", "base", "family"}
        self._bases: dict[str, dict] = record.get("bases", {})  # base -> its sysctls before our first VMAC
        self._rp_filter: dict = record.get("rp_filter", {})  # what clearing all.rp_filter changed
        self._active: set[str] = set()  # VMACs an instance of this run holds (one each)

    # -- the record ----------------------------------------------------------
    def _load(self) -> dict:
        if self.state is None:
            return {}
        try:
            data = json.loads(self.state.read_text())
            return data if isinstance(data, dict) else {}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            log.warning("%s unreadable (%s): adopting no VMAC", self.state, err)
            return {}

    def _save(self) -> None:
        if self.state is not None:
            tmp = self.state.with_name(self.state.name + ".tmp")
            tmp.write_text(json.dumps({"links": self._ours, "bases": self._bases, "rp_filter": self._rp_filter}))
            tmp.replace(self.state)

    def owns(self, name: str) -> bool:
        return name in self._ours

    # -- create / delete --------------------------------------------------------
    def ensure(self, spec: VmacSpec) -> int:
        """The VMAC up and configured; its ifindex.  Adopts our own link left by a killed
        daemon, replaces it if it no longer matches; never takes over anyone else's."""
        if spec.name in self._active:
            raise VmacError(errno.EEXIST, f"VMAC {spec.name} is already another instance's (use_vmac NAME)")
        sock = rtnl.AddressSocket()
        try:
            links = {ln.name: ln for ln in parse_links(sock.dump(rtnl.RTM_GETLINK))}
            base = links.get(spec.base)
            if base is None:
                raise VmacError(errno.ENODEV, f"no interface {spec.base} for VMAC {spec.name}")
            link = links.get(spec.name)
            mine = self._ours.get(spec.name)
            if link is not None and (mine is None or mine.get("index") != link.index):
                raise VmacError(errno.EEXIST, f"{spec.name} exists and was not created by pykeepalived: "
                                "not touching it (remove it, or name the VMAC with 'use_vmac NAME')")
            if link is not None and not matches(link, spec, base.index):
                log.info("VMAC %s left by an earlier run does not match: replacing it", spec.name)
                self._request(sock, encode_delete(link.index), f"delete {spec.name}")
                link = None
            if link is None:
                self._request(sock, encode_create(spec, base.index), f"create {spec.name}")
                link = next((ln for ln in parse_links(sock.dump(rtnl.RTM_GETLINK)) if ln.name == spec.name), None)
                if link is None:
                    raise VmacError(errno.ENODEV, f"VMAC {spec.name} vanished after creation")
                log.info("VMAC %s (%s) created on %s", spec.name, mac_text(spec.mac), spec.base)
            else:
                log.info("VMAC %s (%s) on %s adopted from an earlier run", spec.name, mac_text(spec.mac), spec.base)
            self._ours[spec.name] = {"index": link.index, "base": spec.base, "family": spec.family}
            self._active.add(spec.name)
            self._save()
            try:
                self._set_up(sock, spec, link.index)
            except OSError:
                sock.close()
                self.remove(spec.name)  # half made: not left behind
                raise
            return link.index
        finally:
            sock.close()

    def _set_up(self, sock: rtnl.AddressSocket, spec: VmacSpec, index: int) -> None:
        self._firewall()  # before the instance joins its group on the VMAC
        self._configure(spec)
        self._request(sock, encode_addr_gen_mode_none(index), f"addr_gen_mode of {spec.name}")
        self._request(sock, encode_up(index), f"set {spec.name} up")
        if spec.link_local is not None:  # keepalived: the base's link-local, adverts' source (RFC 5798 5.1.2.1)
            err = sock.request([rtnl.encode_address(True, socket.AF_INET6, index, spec.link_local, 64)])[0]
            if err not in (0, errno.EEXIST):
                raise VmacError(err, f"VMAC: link-local on {spec.name}: {errno.errorcode.get(err, err)}")

    def remove(self, name: str) -> None:
        """Delete our VMAC ``name`` (nothing if it is not ours) and restore its base's sysctls."""
        mine = self._ours.pop(name, None)
        self._active.discard(name)
        if mine is None:
            return
        sock = rtnl.AddressSocket()
        try:
            link = next((ln for ln in parse_links(sock.dump(rtnl.RTM_GETLINK)) if ln.name == name), None)
            if link is not None and link.index == mine.get("index"):
                self._request(sock, encode_delete(link.index), f"delete {name}")
                log.info("VMAC %s removed", name)
        except VmacError as err:
            log.warning("%s", err)
        finally:
            sock.close()
        self._restore_base(mine.get("base", ""))
        if not any(v.get("family") == 4 for v in self._ours.values()):
            self._restore_rp_filter()
        self._save()
        self._firewall()

    def remove_all(self) -> None:
        for name in list(self._ours):
            self.remove(name)

    def _firewall(self) -> None:
        vmacs = sorted((name, v.get("base", "")) for name, v in self._ours.items())
        try:
            r = subprocess.run(["nft", "-f", "-"], input=render_firewall(vmacs), capture_output=True, text=True,
                               timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            r = None
            log.error("VMAC: cannot run nft (%s): IGMP/MLD reports leave from the VMACs", err)
        if r is not None and r.returncode != 0:
            log.error("VMAC: nft -f (table %s) failed: %s", FIREWALL_TABLE, r.stderr.strip()[:500])

    @staticmethod
    def _request(sock: rtnl.AddressSocket, message: bytes, what: str) -> None:
        err = sock.request([message])[0]
        if err:
            raise VmacError(err, f"VMAC: {what}: {errno.errorcode.get(err, err)}")

    # -- sysctls ------------------------------------------------------------------
    def _configure(self, spec: VmacSpec) -> None:
        if spec.family != 4:
            return  # keepalived sets these for IPv4 VMACs only
        self._clear_all_rp_filter()
        for key, value in VMAC_SYSCTLS.items():
            self.sysctl.set(4, spec.name, key, value)
        self.sysctl.set(6, spec.name, "disable_ipv6", 1)  # an IPv4 instance's VMAC speaks no IPv6
        if spec.base not in self._bases:  # first VMAC on it (this run or a killed one): keep the old values
            self._bases[spec.base] = {k: self.sysctl.get(4, spec.base, k) for k in BASE_SYSCTLS}
            self._save()
        for key, value in BASE_SYSCTLS.items():
            self.sysctl.set(4, spec.base, key, value)

    def _restore_base(self, base: str) -> None:
        if base not in self._bases or any(v.get("base") == base and v.get("family") == 4 for v in self._ours.values()):
            return
        for key, value in self._bases.pop(base).items():
            try:
                self.sysctl.set(4, base, key, value)
            except OSError as err:  # the base is gone: nothing to restore
                log.info("cannot restore %s %s: %s", base, key, err)

    def _clear_all_rp_filter(self) -> None:
        """keepalived's clear_rp_filter: "all" above 0 would override the VMAC's rp_filter 0."""
        all_value = self.sysctl.get(4, "all", "rp_filter")
        if self._rp_filter or all_value == 0:
            return  # done already (this run, or one killed before), or nothing to do
        saved: dict = {"all": all_value, "default": None, "interfaces": {}}
        default = self.sysctl.get(4, "default", "rp_filter")
        if default < all_value:
            self.sysctl.set(4, "default", "rp_filter", all_value)
            saved["default"] = default
        for ifname in self.sysctl.interfaces():
            value = self.sysctl.get(4, ifname, "rp_filter")
            if value < all_value:
                self.sysctl.set(4, ifname, "rp_filter", all_value)
                saved["interfaces"][ifname] = value
        self.sysctl.set(4, "all", "rp_filter", 0)
        log.info("VMAC: net.ipv4.conf.all.rp_filter %d -> 0 (default and %d interface(s) raised to %d first)",
                 all_value, len(saved["interfaces"]), all_value)
        self._rp_filter = saved
        self._save()

    def _restore_rp_filter(self) -> None:
        """Put back what ``_clear_all_rp_filter`` changed, where nobody changed it since."""
        saved, self._rp_filter = self._rp_filter, {}
        if not saved:
            return
        all_value = saved["all"]
        try:
            if self.sysctl.get(4, "all", "rp_filter") == 0:
                self.sysctl.set(4, "all", "rp_filter", all_value)
            if saved["default"] is not None and self.sysctl.get(4, "default", "rp_filter") == all_value:
                self.sysctl.set(4, "default", "rp_filter", saved["default"])
            present = set(self.sysctl.interfaces())
            for ifname, value in saved["interfaces"].items():
                if ifname in present and self.sysctl.get(4, ifname, "rp_filter") == all_value:
                    self.sysctl.set(4, ifname, "rp_filter", value)
        except OSError as err:
            log.warning("VMAC: restoring rp_filter: %s", err)
        log.info("VMAC: net.ipv4.conf.all.rp_filter back to %d", all_value)
