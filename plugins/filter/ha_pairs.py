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
  - VRIDs derive from the instance name (stable when hosts are added); collisions on one
    interface fail. C(vrid) in the pair and host_vars C(keepalived_vrids) /
    C(keepalived_priorities) (keyed by instance name) win.
options:
  _input:
    description: List of pairs, each with C(name), C(group), C(vips), optional C(mode) (mb/mm),
      C(interface) (default eth0), C(vrid), C(priority_top) (master, 150), C(priority_backup)
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
  description: Mapping host -> list of instances, or the list for I(host).
  type: raw
"""


def ha_pairs_filter(pairs, groups, hostvars, host=None, address_var="ansible_host"):
    """Jinja entry point."""
    try:
        result = ha_pairs(list(pairs or []), dict(groups), dict(hostvars), address_var)
    except TopologyError as exc:
        raise AnsibleFilterError(f"ha_pairs: {exc}") from exc
    return result.get(host, []) if host is not None else result


class FilterModule:
    """hapair.keepalived filters."""

    def filters(self):
        return {"ha_pairs": ha_pairs_filter}
