#!/usr/bin/python
# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module hapair.keepalived.nat_gateway (logic in module_utils/nat_gateway.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: nat_gateway
short_description: An LVS-NAT real server's default route via the gateway VIP, now and at boot, in one call
version_added: 0.1.0
description:
  - Replies of an LVS-NAT real server must leave through the load balancer that translated the
    request, so its default route goes via the pair's gateway VIP.
  - Writes the oneshot systemd unit O(unit_content) (rendered by the caller) to O(unit_path) when its
    text, mode (0644) or owner (root) differ, runs C(systemctl daemon-reload) after such a change,
    enables the unit when C(systemctl is-enabled) does not say C(enabled), and replaces the running
    default route when it does not go via O(gateway) (and O(interface), when given).
  - One round trip per host for what were three tasks (a template, systemd_service and a shell check).
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  gateway:
    description: The gateway VIP (IPv4 address).
    type: str
    required: true
  interface:
    description: The device of the default route; any when empty.
    type: str
    default: ""
  unit_path:
    description: Where the unit goes.
    type: path
    default: /etc/systemd/system/pykeepalived-nat-gateway.service
  unit_content:
    description: The unit's text.
    type: str
    required: true
author:
  - hapair.keepalived maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Default route via the gateway VIP
  hapair.keepalived.nat_gateway:
    gateway: 10.20.10.1
    unit_content: "{{ lookup('ansible.builtin.template', 'pykeepalived-nat-gateway.service.j2') }}"
"""

RETURN = r"""
unit_changed:
  description: Whether the unit file was (or would be) written.
  returned: always
  type: bool
enabled_now:
  description: Whether the unit was (or would be) enabled by this call.
  returned: always
  type: bool
route_changed:
  description: Whether the running default route was (or would be) replaced.
  returned: always
  type: bool
route_before:
  description: The first line of C(ip -4 route show default) before the call.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.hapair.keepalived.plugins.module_utils.nat_gateway import MODULE_KWARGS, NatGateway  # noqa: E402


def main():
    module = AnsibleModule(**MODULE_KWARGS)
    NatGateway(module).run()


if __name__ == "__main__":
    main()
