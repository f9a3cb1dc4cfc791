# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ha_pairs filter: per-host VRRP instances from pair descriptions and the inventory."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.hapair.keepalived.plugins.plugin_utils.topology import TopologyError, ha_pairs

DOCUMENTATION = r"""
name: ha_pairs
short_description: Compute VRRP instances for HA pairs from the inventory
version_added: 0.1.0
description:
  - Turns pair descriptions plus inventory groups into each host's VRRP instances
    (state, priority ladder, VRID, unicast source and peers).
  - C(mode=mb) gives one instance per pair mastered by the group's first host;
    C(mode=mm) gives one instance per VIP, VIP number I mastered by host I mod N.
  - VRIDs derive from the instance name (stable when hosts are added), salted by the VRID
    domain when one is set (O(vrid_domain) or the pair's C(vrid_domain)); derived VRIDs skip
    O(vrid_reserved). Two instances with one VRID on one segment (the domain, else the
    interface) fail with an error naming both. C(vrid) in the pair and host_vars
    C(keepalived_vrids) / C(keepalived_priorities) (keyed by instance name) win.
  - A pair key the filter does not know fails, naming the key.
options:
  _input:
    description: List of pairs, each with C(name), C(group), C(vips), optional C(mode) (mb/mm),
      C(interface) (default eth0), C(vrid), C(vrid_domain) (over O(vrid_domain)), C(priority_top) (master, 150), C(priority_backup)
      (first backup, 100), C(priority_step) (10, between further backups) and C(address_var)
      (the host variable with this pair's unicast addresses, over O(address_var); for a pair
      on another interface than the one C(ansible_host) is on).
    type: list
    elements: dict
    required: true
  groups:
    description: The inventory's C(groups).
    type: dict
    required: true
  hostvars:
    description: The inventory's C(hostvars).
    type: dict
    required: true
  host:
    description: Return only this host's instances (a list) instead of the whole mapping.
    type: str
  address_var:
    description: Host variable holding the address used for unicast (a pair's C(address_var) wins).
    type: str
    default: ansible_host
  vrid_domain:
    description:
      - The L2 segment's VRID domain, a salt for derived VRIDs (C(crc32(DOMAIN/NAME))); give every
        cluster sharing a segment its own, so their derived VRIDs differ and collide only by chance,
        which O(vrid_reserved) then settles.
      - Instances of one domain are checked against each other whatever their interface; without a
        domain, instances on the same interface name are.
    type: str
    default: ""
  vrid_reserved:
    description:
      - VRIDs other routers use on the segment (a list for every segment, or a mapping domain -> list).
      - A derived VRID that is reserved moves to the next free one; an explicit one fails.
    type: raw
"""

EXAMPLES = r"""
- name: This host's instances
  ansible.builtin.set_fact:
    keepalived_instances: "{{ keepalived_pairs | hapair.keepalived.ha_pairs(groups, hostvars, inventory_hostname) }}"
  vars:
    keepalived_pairs:
      - {name: web, group: lb_web, mode: mb, vips: [192.0.2.100/24], interface: eth0}
      - {name: api, group: lb_api, mode: mm, vips: [192.0.2.101/24, 192.0.2.102/24]}
"""

RETURN = r"""
_value:
  description:
    - Mapping host -> list of instances, or the list for I(host).
    - Each instance is a dict with the keys below.
  type: raw
  contains:
    name:
      description: Instance name (the pair name for C(mb), C(PAIR_1), C(PAIR_2), ... for C(mm)).
      type: str
    pair:
      description: Name of the pair the instance comes from.
      type: str
    mode:
      description: The pair's mode, C(mb) or C(mm).
      type: str
    interface:
      description: Interface the instance runs on.
      type: str
    vrid:
      description: Virtual router ID, 1..255 (explicit, from host_vars, or derived).
      type: int
    vrid_domain:
      description: VRID domain the VRID was derived and checked in (empty for none).
      type: str
    state:
      description: C(MASTER) on the host with the top priority, C(BACKUP) on the others.
      type: str
    priority:
      description: This host's priority, 1..254.
      type: int
    vips:
      description: The instance's virtual IPs as given in the pair.
      type: list
      elements: raw
    unicast_src_ip:
      description: This host's unicast address (the pair's C(address_var), else O(address_var)).
      type: str
    unicast_peers:
      description: The unicast addresses of the other hosts of the group, in inventory order.
      type: list
      elements: str
"""


class HostLookups:
    """``hostvars`` read once per host and once per key. Ansible's hostvars[host] merges that
    host's variables on every access (~10 ms on a 60-host inventory) and every key read templates
    its value; the topology reads the same few keys of each pair member many times, and
    ``dict(hostvars)`` would merge every host of the inventory, pair member or not."""

    def __init__(self, hostvars):
        self._hostvars = hostvars
        self._hosts = {}

    def get(self, host, default=None):
        if host not in self._hosts:
            self._hosts[host] = _HostKeys(self._hostvars[host]) if host in self._hostvars else None
        return self._hosts[host] if self._hosts[host] is not None else default


class _HostKeys:
    def __init__(self, variables):
        self._variables = variables
        self._keys = {}

    def get(self, key, default=None):
        if key not in self._keys:
            self._keys[key] = self._variables.get(key)
        return self._keys[key] if self._keys[key] is not None else default


def ha_pairs_filter(pairs, groups, hostvars, host=None, address_var="ansible_host", vrid_domain="",
                    vrid_reserved=None):
    """Jinja entry point."""
    try:
        result = ha_pairs(list(pairs or []), dict(groups), HostLookups(hostvars), address_var,
                          vrid_domain=vrid_domain or "", vrid_reserved=vrid_reserved)
    except TopologyError as exc:
        raise AnsibleFilterError(f"ha_pairs: {exc}") from exc
    return result.get(host, []) if host is not None else result


class FilterModule:
    """hapair.keepalived filters."""

    def filters(self):
        return {"ha_pairs": ha_pairs_filter}
