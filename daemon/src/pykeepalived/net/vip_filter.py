"""Accept_Mode off (``no_accept``, or keepalived's strict default): drop traffic to the VIPs.

RFC 5798 6.1: a master that is not the address owner "MUST NOT accept
packets addressed to the IPvX address(es) associated with the virtual
router" unless Accept_Mode is True.  keepalived does this with an nftables
table (``keepalived``): set ``vips``, ``ip daddr @vips drop`` on input and
``ip saddr @vips drop`` on output.  We do the same in our own table,
``inet pykeepalived_vrrp`` (the load balancer's ``inet pykeepalived`` is
another table; neither names the other, and no other table is touched).

IPv6 keeps neighbour discovery to and from the VIPs, or the VIP could not
be resolved at all (keepalived excepts the same ICMPv6 types).  ARP is not
IP, so GARP and ARP replies are never filtered.

The set holds every VIP of every instance without Accept_Mode, in any
state: a backup does not carry the address, so the rule only bites while
master, and a takeover needs no nftables work on its hot path.  The table
is replaced atomically by one ``nft -f -`` transaction when the set
changes (start, reload) and deleted at stop.
"""
from __future__ import annotations

import ipaddress
import logging
import subprocess
from collections.abc import Iterable, Sequence
from typing import Union

log = logging.getLogger(__name__)

NAME = "pykeepalived_vrrp"
TABLE = f"inet {NAME}"
ND_TYPES = "{ nd-neighbor-solicit, nd-neighbor-advert }"

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


def render(addresses: Iterable[Address]) -> str:
    """The nft script that makes our table hold exactly ``addresses`` (none: no table)."""
    v4 = sorted({a for a in addresses if a.version == 4})
    v6 = sorted({a for a in addresses if a.version == 6} - set(v4))
    lines = [f"add table {TABLE}", f"delete table {TABLE}"]  # "add" first: delete never fails
    if not v4 and not v6:
        return "\n".join(lines) + "\n"

    def elements(addrs: list) -> str:
        return f"elements = {{ {', '.join(map(str, addrs))} }}; " if addrs else ""

    lines += [
        f"table {TABLE} {{",
        f"  set vips4 {{ type ipv4_addr; {elements(v4)}}}",
        f"  set vips6 {{ type ipv6_addr; {elements(v6)}}}",
        "  chain in {",
        "    type filter hook input priority -1; policy accept;",
        "    ip daddr @vips4 drop",
        f"    ip6 daddr @vips6 icmpv6 type {ND_TYPES} accept",
        "    ip6 daddr @vips6 drop",
        "  }",
        "  chain out {",
        "    type filter hook output priority -1; policy accept;",
        "    ip saddr @vips4 drop",
        f"    ip6 saddr @vips6 icmpv6 type {ND_TYPES} accept",
        "    ip6 saddr @vips6 drop",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


class VipFilter:
    """Keeps ``inet pykeepalived_vrrp`` equal to the VIPs that must not accept traffic."""

    def __init__(self, prefix: Sequence[str] = (), timeout: float = 10) -> None:
        self.prefix = list(prefix)  # e.g. ["ip", "netns", "exec", NS] (tests)
        self.timeout = timeout
        self.blocked: frozenset[Address] | None = None  # None: never applied (a stale table may exist)

    def apply(self, addresses: Iterable[Address]) -> bool:
        """Make the table hold ``addresses``; False (and logged) when nft failed."""
        wanted = frozenset(addresses)
        if wanted == self.blocked or (not wanted and self.blocked is None and not self._exists()):
            self.blocked = wanted
            return True
        try:
            r = subprocess.run([*self.prefix, "nft", "-f", "-"], input=render(wanted), capture_output=True,
                               text=True, timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            log.error("no_accept: cannot run nft (%s): traffic to %d VIP(s) is NOT dropped", err, len(wanted))
            return False
        if r.returncode != 0:
            log.error("no_accept: nft -f (table %s) failed: %s", TABLE, r.stderr.strip()[:500])
            return False
        if wanted:
            log.info("no_accept: traffic to %s is dropped (table %s)", ", ".join(map(str, sorted(
                wanted, key=lambda a: (a.version, a)))), TABLE)
        elif self.blocked:
            log.info("no_accept: table %s removed", TABLE)
        self.blocked = wanted
        return True

    def _exists(self) -> bool:
        try:
            r = subprocess.run([*self.prefix, "nft", "list", "table", *TABLE.split()], capture_output=True,
                               text=True, timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return False  # no nft: nothing of ours can exist either
        return r.returncode == 0

    def clear(self) -> None:
        if self.blocked:
            self.apply(())
