# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HA pairs from the inventory: states, priority ladders, VRIDs, unicast peers.

Pure and controller-side; the ``ha_pairs`` filter is a thin wrapper. A pair
description names an inventory group and the VIPs it carries:

* ``mode: mb`` (master/backup): one VRRP instance holding every VIP; the
  group's first host is the intended master, the others back it up in
  inventory order.
* ``mode: mm`` (master-master): one instance per VIP; VIP *i* is mastered by
  host *i mod n*, so the load is spread and each host backs up the others.

VRIDs come from the instance name only (CRC-32, 1..255), so adding hosts never
changes them. Clusters of different inventories that share one L2 segment each
set a ``vrid_domain`` (the segment's salt: derived VRIDs hash ``DOMAIN/NAME``, and
instances of one domain are checked against each other whatever their interface)
and list the VRIDs used there by others in ``vrid_reserved`` (a derived VRID moves
to the next free one, an explicit one fails). Two instances that would share a
VRID on one segment (the domain, else the interface) fail with an error naming
both and asking for an explicit ``vrid``. Unicast addresses come
from the host variable ``address_var`` (``ansible_host`` unless the pair names
another, e.g. for a pair on a second interface). Explicit VRIDs and
priorities (in the pair, or in host_vars ``keepalived_vrids`` /
``keepalived_priorities`` keyed by instance name) win.
"""

from __future__ import annotations

import zlib

# The intended master gets 150; backups 100, 90, 80, ... in inventory order, so
# the master stands clear of every backup and appending hosts keeps the ranks.
DEFAULT_PRIORITY_TOP = 150
DEFAULT_PRIORITY_BACKUP = 100
DEFAULT_PRIORITY_STEP = 10
MODES = ("mb", "mm")
PAIR_KEYS = ("name", "group", "mode", "vips", "interface", "vrid", "vrid_domain", "priority_top",
             "priority_backup", "priority_step", "options", "address_var")


class TopologyError(ValueError):
    """A pair description or inventory that cannot give a sound topology."""


def derived_vrid(instance_name, domain=""):
    """A stable VRID in 1..255 from the instance name (salted by the VRID domain)."""
    key = f"{domain}/{instance_name}" if domain else instance_name
    return 1 + zlib.crc32(key.encode("utf-8")) % 255


def _reserved(reserved, domain):
    """The reserved VRIDs of one segment: ``reserved`` is a list (every segment) or a
    mapping domain -> list."""
    if isinstance(reserved, dict):
        values = reserved.get(domain) or []
    else:
        values = reserved or []
    out = set()
    for value in values:
        vrid = int(value)
        if not 1 <= vrid <= 255:
            raise TopologyError(f"vrid_reserved: {vrid} is outside 1..255")
        out.add(vrid)
    return out


def _hosts(pair, groups):
    group = pair.get("group")
    if not group:
        raise TopologyError(f"pair {pair.get('name')!r}: 'group' is required")
    hosts = list(groups.get(group) or [])
    if len(hosts) < 2:
        raise TopologyError(f"pair {pair['name']!r}: group {group!r} needs at least two hosts, has {len(hosts)}")
    return hosts


def _address(host, hostvars, address_var):
    return str((hostvars.get(host) or {}).get(address_var) or host)


def _instance_specs(pair):
    """(instance name, VIPs, index of the intended master, explicit VRID) per instance."""
    vips = pair.get("vips") or []
    if not vips:
        raise TopologyError(f"pair {pair['name']!r}: 'vips' must list at least one address")
    vrid = pair.get("vrid")
    if pair.get("mode", "mb") == "mb":
        if isinstance(vrid, list):
            raise TopologyError(f"pair {pair['name']!r}: mode mb takes one vrid, not a list")
        return [(pair["name"], list(vips), 0, vrid)]
    vrids = vrid if isinstance(vrid, list) else [None] * len(vips)
    if len(vrids) != len(vips):
        raise TopologyError(f"pair {pair['name']!r}: mode mm needs one vrid per VIP "
                            f"({len(vips)} VIPs, {len(vrids)} vrids)")
    return [(f"{pair['name']}_{i + 1}", [vip], i, vrids[i]) for i, vip in enumerate(vips)]


def _priorities(pair, name, hosts, master_index, hostvars):
    """host -> priority: a ladder from the intended master, explicit host_vars win."""
    top = int(pair.get("priority_top", DEFAULT_PRIORITY_TOP))
    backup = int(pair.get("priority_backup", DEFAULT_PRIORITY_BACKUP))
    step = int(pair.get("priority_step", DEFAULT_PRIORITY_STEP))
    n = len(hosts)
    prio = {}
    for j, host in enumerate(hosts):
        rank = (j - master_index) % n
        value = top if rank == 0 else backup - (rank - 1) * step
        explicit = ((hostvars.get(host) or {}).get("keepalived_priorities") or {}).get(name)
        if explicit is not None:
            value = int(explicit)
        if not 1 <= value <= 254:
            raise TopologyError(f"instance {name!r}: priority {value} for {host} is outside 1..254 "
                                f"({n} hosts with step {step}; set priority_backup/priority_step)")
        prio[host] = value
    best = max(prio.values())
    masters = [h for h, p in prio.items() if p == best]
    if len(masters) > 1:
        raise TopologyError(f"instance {name!r}: hosts {', '.join(masters)} share the top priority {best}; "
                            "exactly one must be master")
    return prio


def _vrid(name, explicit, hosts, hostvars, domain, reserved):
    per_host = {((hostvars.get(h) or {}).get("keepalived_vrids") or {}).get(name) for h in hosts} - {None}
    if len(per_host) > 1:
        raise TopologyError(f"instance {name!r}: host_vars give different VRIDs {sorted(per_host)}")
    if explicit is None and per_host:
        explicit = per_host.pop()
    if explicit is not None:
        value = int(explicit)
        if not 1 <= value <= 255:
            raise TopologyError(f"instance {name!r}: vrid {value} is outside 1..255")
        if value in reserved:
            raise TopologyError(f"instance {name!r}: vrid {value} is reserved on segment {domain!r} (vrid_reserved)")
        return value
    if len(reserved) >= 255:
        raise TopologyError(f"instance {name!r}: every VRID of segment {domain!r} is reserved")
    value = derived_vrid(name, domain)
    while value in reserved:  # the next free one: stable as long as the reserved list is
        value = value % 255 + 1
    return value


def ha_pairs(pairs, groups, hostvars, address_var="ansible_host", vrid_domain="", vrid_reserved=None):
    """Return {host: [instance, ...]}; each instance is a dict ready for the role."""
    result = {}
    owners = {}  # (segment, vrid) -> (instance name, pair name), to catch collisions
    names = set()
    for pair in pairs:
        if not pair.get("name"):
            raise TopologyError("every pair needs a 'name'")
        unknown = sorted(set(pair) - set(PAIR_KEYS))
        if unknown:
            raise TopologyError(f"pair {pair['name']!r}: unknown key(s) {', '.join(map(repr, unknown))}; "
                                f"known: {', '.join(PAIR_KEYS)}")
        if pair.get("mode", "mb") not in MODES:
            raise TopologyError(f"pair {pair['name']!r}: mode must be mb or mm, not {pair.get('mode')!r}")
        hosts = _hosts(pair, groups)
        interface = pair.get("interface", "eth0")
        domain = str(pair.get("vrid_domain") or vrid_domain or "")
        segment = ("domain", domain) if domain else ("interface", interface)
        reserved = _reserved(vrid_reserved, domain)
        addresses = {h: _address(h, hostvars, pair.get("address_var") or address_var) for h in hosts}
        for name, vips, master_index, explicit in _instance_specs(pair):
            if name in names:
                raise TopologyError(f"instance name {name!r} is used twice")
            names.add(name)
            vrid = _vrid(name, explicit, hosts, hostvars, domain, reserved)
            key = (segment, vrid)
            if key in owners:
                other, other_pair = owners[key]
                where = f"VRID domain {domain!r}" if domain else f"interface {interface}"
                raise TopologyError(f"VRID {vrid} on {where} is taken by both {other!r} (pair {other_pair!r}) "
                                    f"and {name!r} (pair {pair['name']!r}); give one of them an explicit 'vrid'")
            owners[key] = (name, pair["name"])
            prio = _priorities(pair, name, hosts, master_index, hostvars)
            best = max(prio.values())
            for host in hosts:
                result.setdefault(host, []).append({
                    "name": name,
                    "pair": pair["name"],
                    "mode": pair.get("mode", "mb"),
                    "interface": interface,
                    "vrid": vrid,
                    "vrid_domain": domain,
                    "state": "MASTER" if prio[host] == best else "BACKUP",
                    "priority": prio[host],
                    "vips": list(vips),
                    "unicast_src_ip": addresses[host],
                    "unicast_peers": [addresses[h] for h in hosts if h != host],
                })
    return result
