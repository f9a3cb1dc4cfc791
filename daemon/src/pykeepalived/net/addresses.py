"""Virtual IP addresses over rtnetlink, keepalived's ``virtual_ipaddress``.

Everything goes through ``rtnl.AddressSocket`` (requests encoded once, sent
without coroutine machinery: this is a takeover's hot path; dumps to read
the interfaces).

An address that was already on the interface when we went to add it is not
ours: we never remove it (keepalived would; a VIP that doubles as a real
address must survive a failover).  What we added is remembered per
(dev, address, prefixlen) and only that is removed.

Crashes (kill -9, a watchdog restart): with a ``state`` file (the daemon
uses ``RUNTIME_DIR/vips.json``) every address is recorded there *before*
it is added, and dropped from it after it is removed.  ``adopt()`` at the
next start reads the record and takes back as ours only the recorded
addresses that are still on their interface; an address we did not record
is never adopted, so never removed.  The one window: a crash between
recording an address and the kernel's "exists" answer for an address
someone else had put there leaves it in the record (microseconds per add).
"""
from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

from ..compat import SLOTS, zip_strict

if TYPE_CHECKING:
    from .rtnl import AddressSocket

# net/rtnl.py is imported where it is used: VipSpec is all the checker process and the
# reload planner need from here

log = logging.getLogger(__name__)

IPInterface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]

# rtnetlink scopes (linux/rtnetlink.h rt_scope_t), by the names ip(8) takes
SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}


@dataclass(frozen=True, **SLOTS)
class VipSpec:
    """One virtual address as netlink needs it (a resolved ``VirtualIp`` line)."""

    address: IPInterface
    dev: str
    scope: str | None = None
    label: str | None = None
    brd: ipaddress.IPv4Address | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.dev, str(self.address.ip), self.address.network.prefixlen)


class AddressManager:
    """Adds and removes VIPs; remembers which ones it added (shared by all instances)."""

    def __init__(self, state: Path | str | None = None) -> None:
        self._ours: set[tuple[str, str, int]] = set()
        self._messages: dict[tuple[bool, VipSpec], bytes] = {}
        self.state = Path(state) if state is not None else None
        self.adopted: set[tuple[str, str, int]] = set()
        self._sock: AddressSocket | None = None
        self._fd = -1  # the record, kept open (_save)
        self._record_len = 0

    def _netlink(self) -> AddressSocket:
        """One netlink socket for the daemon's life: opening one costs about 1 ms,
        which a takeover would otherwise pay before its VIP exists."""
        if self._sock is None:
            from .rtnl import AddressSocket  # noqa: PLC0415
            self._sock = AddressSocket()
        return self._sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # -- the record of what we added (survives a crash) -------------------------
    def _load(self) -> set[tuple[str, str, int]]:
        if self.state is None:
            return set()
        try:
            data = json.loads(self.state.read_text())
            return {(str(d), str(a), int(p)) for d, a, p in data.get("added", [])}
        except FileNotFoundError:
            return set()
        except (OSError, ValueError, TypeError, AttributeError) as err:
            log.warning("%s unreadable (%s): adopting nothing", self.state, err)
            return set()

    def _save(self, extra: set[tuple[str, str, int]] | frozenset = frozenset()) -> None:
        """Rewrite the record in place with one ``pwrite`` on a descriptor kept open.

        It sits on the failover's hot path (written before the VIP exists):
        open + write + rename cost ~0.25 ms, a pwrite ~0.02 ms.  A daemon
        killed mid-call cannot leave half a record (a small write to a regular
        file is done whole or not at all); a shorter record is padded with
        spaces (valid JSON) and the file trimmed after.  No fsync: the record
        must survive the daemon, not the machine (a reboot takes the VIPs too).
        """
        if self.state is None:
            return
        keys = sorted(self._ours | set(extra))
        data = json.dumps({"added": [list(k) for k in keys]}).encode()
        fd = self._record_fd()
        os.pwrite(fd, data.ljust(self._record_len), 0)
        if len(data) < self._record_len:
            os.ftruncate(fd, len(data))
        self._record_len = len(data)

    def _record_fd(self) -> int:
        if self._fd < 0:
            self.state.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.state, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._record_len = os.fstat(self._fd).st_size
        return self._fd

    def adopt(self) -> set[tuple[str, str, int]]:
        """Take back the recorded addresses still present (a crashed daemon's VIPs); forget the rest."""
        recorded = self._load()
        present: set[tuple[str, str, int]] = set()
        if recorded:
            from . import rtnl  # noqa: PLC0415
            names = {link.index: link.name for link in rtnl.parse_links(self._netlink().dump(rtnl.RTM_GETLINK))}
            for a in rtnl.parse_addresses(self._netlink().dump(rtnl.RTM_GETADDR)):
                key = (names.get(a.index, ""), str(a.interface.ip), a.interface.network.prefixlen)
                if key in recorded:
                    present.add(key)
        for key in sorted(present):
            log.warning("%s/%d on %s: added by a previous daemon (crash?), adopted as ours", key[1], key[2], key[0])
        self._ours |= present
        self.adopted = present
        self._save()
        return present

    def _request(self, add: bool, vips: list[VipSpec]) -> list[int]:
        """Send the requests for ``vips`` in one datagram; their errnos (0 = done).  An
        interface re-created since we encoded its requests gets its new index and one retry."""
        results = [errno.ENODEV] * len(vips)
        todo = list(range(len(vips)))
        for _attempt in range(2):
            sent, messages = [], []
            for i in todo:
                try:
                    messages.append(self._message(add, vips[i]))
                    sent.append(i)
                except OSError as err:  # no such interface
                    results[i] = err.errno or errno.ENODEV
            for i, err in zip_strict(sent, self._netlink().request(messages)):
                results[i] = err
            todo = [i for i in sent if results[i] == errno.ENODEV]
            if not todo:
                break
            stale = {vips[i].dev for i in todo}
            self._messages = {k: m for k, m in self._messages.items() if k[1].dev not in stale}
        return results

    def _message(self, add: bool, vip: VipSpec) -> bytes:
        """The encoded request, kept: a takeover then only sends bytes (``prepare``)."""
        key = (add, vip)
        if key not in self._messages:
            from .rtnl import encode_address  # noqa: PLC0415
            family = socket.AF_INET6 if vip.address.version == 6 else socket.AF_INET
            extra = {"scope": SCOPES[vip.scope] if vip.scope else 0, "label": vip.label,
                     "broadcast": str(vip.brd) if vip.brd is not None else None} if add else {}
            self._messages[key] = encode_address(add, family, socket.if_nametoindex(vip.dev), str(vip.address.ip),
                                                 vip.address.network.prefixlen, **extra)
        return self._messages[key]

    def prepare(self, vips: list[VipSpec]) -> None:
        """Encode the add and remove requests of ``vips`` now, before a takeover needs them."""
        self._netlink()
        for vip in vips:
            for add in (True, False):
                with contextlib.suppress(OSError):  # no such interface yet: encoded when it is needed
                    self._message(add, vip)

    def owns(self, vip: VipSpec) -> bool:
        return vip.key in self._ours

    def add(self, vips: list[VipSpec]) -> None:
        """Add each VIP; one that exists already is left alone and not marked ours."""
        todo = [vip for vip in vips if vip.key not in self._ours]
        if not todo:
            return
        self._save(extra={vip.key for vip in todo})  # recorded before they exist: a crash cannot hide them
        try:
            results = self._request(True, todo)
        except OSError as err:
            results = [err.errno or errno.EIO] * len(todo)
        for vip, err in zip_strict(todo, results):
            if err == 0:
                self._ours.add(vip.key)
            elif err == errno.EEXIST:
                log.warning("%s already on %s: not ours, will not remove it", vip.address, vip.dev)
            else:
                log.error("cannot add %s to %s: %s", vip.address, vip.dev, os.strerror(err))
        if any(vip.key not in self._ours for vip in todo):
            self._save()  # what we did not add leaves the record again
        for vip in todo:
            if vip.key in self._ours:
                log.info("added %s to %s", vip.address, vip.dev)

    def remove(self, vips: list[VipSpec]) -> None:
        """Remove the VIPs we added; others are never touched."""
        mine = [vip for vip in vips if vip.key in self._ours]
        if not mine:
            return
        try:
            results = self._request(False, mine)
        except OSError as err:
            results = [err.errno or errno.EIO] * len(mine)
        for vip, err in zip_strict(mine, results):
            if err in (0, errno.EADDRNOTAVAIL, errno.ENODEV):  # gone, or someone removed it already
                self._ours.discard(vip.key)
                self.adopted.discard(vip.key)
                if err == 0:
                    log.info("removed %s from %s", vip.address, vip.dev)
            else:  # still there and still ours
                log.error("cannot remove %s from %s: %s", vip.address, vip.dev, os.strerror(err))
        self._save()

    def remove_all(self) -> None:
        """Remove everything we added (daemon exit)."""
        vips = [VipSpec(ipaddress.ip_interface(f"{a}/{p}"), dev) for dev, a, p in sorted(self._ours)]
        self.remove(vips)


def interface_info(dev: str) -> tuple[int, bytes, list[IPInterface]]:
    """(ifindex, MAC, addresses in kernel order) of ``dev``."""
    from . import rtnl  # noqa: PLC0415
    sock = rtnl.AddressSocket()
    try:
        link = next((ln for ln in rtnl.parse_links(sock.dump(rtnl.RTM_GETLINK)) if ln.name == dev), None)
        if link is None:
            raise OSError(errno.ENODEV, f"no interface {dev}")
        addrs = [a.interface for a in rtnl.parse_addresses(sock.dump(rtnl.RTM_GETADDR)) if a.index == link.index]
    finally:
        sock.close()
    return link.index, link.mac if len(link.mac) == 6 else b"\0" * 6, addrs
