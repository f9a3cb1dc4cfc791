#!/usr/bin/python
# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module hapair.keepalived.real_server_state (logic in module_utils/real_server_state.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: real_server_state
short_description: Drain or enable a real server in the running pykeepalived daemon, at runtime only
version_added: 0.2.0
description:
  - Changes one real server's runtime state in the running daemon through its control socket
    (C(RUNTIME_DIR/control.sock)), in the style of M(community.general.haproxy) - V(drained) (weight 0,
    no new connections, established ones go on) or V(enabled), and an optional runtime weight.
  - It never writes config. The daemon keeps the state in its runtime dir (C(lb-overrides.json)), so it
    survives reloads and restarts, and neither the C(hapair.keepalived.keepalived_ha) role nor the config
    modules undo it (M(hapair.keepalived.real_server) with C(state=present), what the role runs, leaves
    it as it is). A real server that leaves the config loses its runtime state.
  - Without O(virtual_server) the task acts on every virtual server that has this real server; without
    O(port) on every port of this address.
  - O(wait) waits, in the daemon, until a drained server has no active connection or an enabled
    server's health checker says it is up.
  - Running the same task again reports no change, in check mode too; check mode asks the daemon what
    would change and changes nothing.
  - An unknown real server or virtual server fails with the ones the daemon knows; a host without a
    running daemon fails with one line; an out-of-range O(weight) fails before anything is sent.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  address:
    description: Address of the real server, as in the config.
    type: str
    required: true
  port:
    description: Port of the real server. Default every port of O(address).
    type: int
  virtual_server:
    description:
      - The virtual service, named as in M(hapair.keepalived.virtual_server). Default every virtual
        service that has this real server.
    type: dict
    suboptions:
      address:
        description:
          - Virtual IP address of the service.
          - One of O(virtual_server.address), O(virtual_server.fwmark), O(virtual_server.group) is required.
        type: str
      port:
        description: Service port.
        type: int
      fwmark:
        description: Firewall mark of the service.
        type: int
      group:
        description: C(virtual_server_group) name of the service.
        type: str
      protocol:
        description: The service's protocol, when not TCP.
        type: str
        choices: [TCP, UDP, SCTP]
  state:
    description:
      - V(drained) gives the server weight 0 at once (no new connections; established ones go on).
      - V(enabled) ends a runtime drain; the server gets its runtime weight, or else the weight of
        its health checker or config.
    type: str
    required: true
    choices: [enabled, drained]
  weight:
    description:
      - Runtime weight, 0-65535, above the checker's and the config's (kept while drained, in force
        once enabled). Not given - the runtime weight stays as it is
        (C(pykeepalivedctl real-server ADDRESS --weight clear) removes it).
    type: int
  wait:
    description:
      - With O(state=drained), wait until the server has no active connection; with O(state=enabled),
        until its health checker says it is up. The task fails after O(wait_timeout) seconds.
        Not done in check mode.
    type: bool
    default: false
  wait_timeout:
    description: Seconds O(wait) waits.
    type: float
    default: 60.0
  runtime_dir:
    description: The daemon's runtime directory (its control socket is C(control.sock) there).
    type: path
    default: /run/pykeepalived
notes:
  - Connection counts are read for this server only - from the kernel's IPVS entries of its services,
    or with nftables from conntrack filtered on the server's address.
  - Run it on (or C(delegate_to)) every load balancer of the service - each daemon keeps its own state.
seealso:
  - module: hapair.keepalived.real_server
  - module: hapair.keepalived.keepalived_info
  - module: community.general.haproxy
author:
  - hapair.keepalived maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Drain web1 on every virtual server and wait until its connections end
  hapair.keepalived.real_server_state:
    address: 192.0.2.21
    port: 80
    state: drained
    wait: true
    wait_timeout: 120

- name: Enable web1 again and wait until its health checker says up
  hapair.keepalived.real_server_state:
    address: 192.0.2.21
    port: 80
    state: enabled
    wait: true

- name: Give web2 a runtime weight of 5 in one virtual service only
  hapair.keepalived.real_server_state:
    virtual_server:
      address: 198.51.100.50
      port: 80
    address: 192.0.2.22
    port: 80
    state: enabled
    weight: 5

- name: Drain a web server on every load balancer (from a play over the web servers)
  hapair.keepalived.real_server_state:
    address: "{{ ansible_host }}"
    state: drained
  delegate_to: "{{ item }}"
  loop: "{{ groups['loadbalancers'] }}"
"""

RETURN = r"""
servers:
  description: The daemon's runtime view of the server after the task (in check mode, what it would be), one entry per virtual server.
  returned: success
  type: list
  elements: dict
  contains:
    virtual_server:
      description: The daemon's name of the virtual server.
      type: str
    address:
      description: Address of the real server.
      type: str
    port:
      description: Port of the real server.
      type: int
    up:
      description: Health-check state.
      type: bool
    drained:
      description: Whether the server is drained at runtime.
      type: bool
    weight:
      description: The effective weight (0 when drained).
      type: int
    configured_weight:
      description: The weight of the running config.
      type: int
    runtime_weight:
      description: The runtime weight, or null when none is set.
      type: int
    active_connections:
      description:
        - Established connections to this server through this host, to a virtual address it holds.
        - An established entry to an address another host holds now (left from an earlier mastership, or the
          sync daemon's mirror) is not counted; O(wait) does not wait for it.
      type: int
    inactive_connections:
      description: Inactive connections to this server in the kernel.
      type: int
  sample:
    - {virtual_server: "TCP 198.51.100.50:80", address: 192.0.2.21, port: 80, up: true, drained: true,
       weight: 0, configured_weight: 1, runtime_weight: null, active_connections: 0, inactive_connections: 4}
waited:
  description: What O(wait) waited for (V(idle) or V(up)), whether it came, and what was left.
  returned: when O(wait) was done
  type: dict
  sample: {done: true, for: idle, active: 0}
diff:
  description: With C(--diff), drained and runtime weight per virtual server before and after.
  returned: diff mode
  type: dict
  sample:
    before: {"TCP 198.51.100.50:80": {drained: false, runtime_weight: null}}
    after: {"TCP 198.51.100.50:80": {drained: true, runtime_weight: null}}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.hapair.keepalived.plugins.module_utils.real_server_state import (  # noqa: E402
    MODULE_KWARGS,
    RealServerState,
)


def main():
    module = AnsibleModule(**MODULE_KWARGS)
    RealServerState(module).run()


if __name__ == "__main__":
    main()
