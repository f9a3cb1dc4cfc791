#!/usr/bin/python
# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module hapair.keepalived.keepalived_info (logic in module_utils/keepalived_info.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: keepalived_info
short_description: Report the running pykeepalived's state (VRRP instances, virtual and real servers)
version_added: 0.1.0
description:
  - Asks the running daemon for its C(status) through its control socket (C(RUNTIME_DIR/control.sock),
    the same answer C(pykeepalivedctl status --json) prints) and returns it as facts a playbook can
    test, for example who is master, which VIPs this host holds, whether a real server is drained
    and idle.
  - Read-only; never reports a change, in check mode too.
  - Fails with one line when no daemon runs (no control socket) or the daemon does not answer.
attributes:
  check_mode:
    support: full
    details: The module changes nothing; it runs in check mode as in a normal run.
  diff_mode:
    support: none
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  runtime_dir:
    description: The daemon's runtime directory (where C(control.sock) is).
    type: path
    default: /run/pykeepalived
  gather:
    description:
      - Which sections to return besides RV(daemon), V(vrrp) and/or V(lb).
      - The daemon always answers with the whole status; this only limits what the task returns.
    type: list
    elements: str
    choices: [vrrp, lb]
    default: [vrrp, lb]
  timeout:
    description: Seconds to wait for the daemon's answer.
    type: float
    default: 10.0
notes:
  - The control socket only accepts root, so the task needs C(become) unless it connects as root.
  - Connection counts come from the kernel's table (IPVS or nftables); with no data plane they are 0.
seealso:
  - module: hapair.keepalived.real_server
  - module: hapair.keepalived.vrrp_instance
author:
  - hapair.keepalived maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Ask the daemon
  hapair.keepalived.keepalived_info:
  register: lb_info

- name: Who is master of the web instance
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} is {{ (lb_info.vrrp.instances | selectattr('name', 'equalto', 'web') | first).state }}"

- name: Only the VRRP side, waiting until this host holds every VIP of its instances
  hapair.keepalived.keepalived_info:
    gather: [vrrp]
  register: lb_vrrp
  until: lb_vrrp.vrrp is defined and lb_vrrp.vrrp.masters | length == lb_vrrp.vrrp.instances | length
  retries: 10
  delay: 1

- name: Wait until a drained real server is idle
  hapair.keepalived.keepalived_info:
    gather: [lb]
  register: lb_servers
  until: >-
    lb_servers.lb.virtual_servers | map(attribute='real_servers') | flatten
    | selectattr('address', 'equalto', '10.0.0.11') | selectattr('drained')
    | map(attribute='active_connections') | sum == 0
  retries: 30
  delay: 2
"""

RETURN = r"""
daemon:
  description: The daemon process.
  returned: success
  type: dict
  contains:
    version:
      description: Version of pykeepalived.
      type: str
      sample: 0.1.0
    pid:
      description: Process id of the daemon (the supervisor when it runs child processes).
      type: int
      sample: 4242
    config:
      description: The main configuration file it runs.
      type: str
      sample: /etc/pykeepalived/keepalived.conf
    started:
      description: When the daemon started (seconds since the epoch).
      type: float
      sample: 1735689600.5
    uptime:
      description: Seconds since the daemon started.
      type: float
      sample: 3600.25
    subsystems:
      description: The parts running, C(vrrp) and/or C(check).
      type: list
      elements: str
      sample: [vrrp, check]
    reloads:
      description: Successful reloads since start.
      type: int
      sample: 3
    reload_failures:
      description: Reloads refused (the configuration had errors; the previous one kept running).
      type: int
      sample: 0
    last_reload:
      description: The last reload (null before the first one).
      type: dict
      contains:
        time:
          description: When it happened (seconds since the epoch).
          type: float
        reloaded:
          description: Whether the new configuration was applied.
          type: bool
        errors:
          description: The configuration's C(FILE:LINE:COL) error lines when it was refused.
          type: list
          elements: str
      sample: {time: 1735690000.1, reloaded: false, errors: ["/etc/pykeepalived/keepalived.conf:3:5: error: unknown keyword"]}
    backend:
      description: The data plane of the virtual servers (V(ipvs) or V(nftables)); null without load balancing.
      type: str
      sample: nftables
    children:
      description: Per child process (C(vrrp), C(check)) its pid, whether it reports, and its restarts; null
        when the daemon runs in one process.
      type: dict
      sample: {vrrp: {pid: 4243, up: true, restarts: 0}, check: {pid: 4244, up: true, restarts: 0}}
vrrp:
  description: The VRRP side; null when the daemon runs no VRRP. Left out unless O(gather) has V(vrrp).
  returned: success and O(gather) contains V(vrrp)
  type: dict
  contains:
    instances:
      description: One entry per VRRP instance.
      type: list
      elements: dict
      contains:
        name:
          description: Instance name.
          type: str
        interface:
          description: Interface it runs on.
          type: str
        vrid:
          description: Virtual router id.
          type: int
        version:
          description: VRRP version (2 or 3).
          type: int
        state:
          description: V(MASTER), V(BACKUP), V(FAULT) or V(INITIALIZE).
          type: str
        priority:
          description: The configured priority.
          type: int
        effective_priority:
          description: The priority after tracked scripts, interfaces and files.
          type: int
        address:
          description: This host's address on the instance (the source of its adverts).
          type: str
        master_address:
          description: The current master's address (this host's own when it is master; null before any advert).
          type: str
        master_priority:
          description: The current master's priority.
          type: int
        advert_interval:
          description: Advert interval in seconds.
          type: float
        vips:
          description: The instance's virtual addresses as configured (C(ADDRESS/PREFIX)).
          type: list
          elements: str
        vips_held:
          description: The virtual addresses this host holds (all of them while MASTER, none otherwise).
          type: list
          elements: str
        tracked:
          description: Tracked scripts, interfaces and files with their weight and whether they are up.
          type: list
          elements: dict
        adverts_sent:
          description: Adverts sent since start.
          type: int
        adverts_received:
          description: Adverts accepted since start.
          type: int
        priority_zero_sent:
          description: Priority-0 adverts sent (a master leaving).
          type: int
        priority_zero_received:
          description: Priority-0 adverts received.
          type: int
        became_master:
          description: Times this instance became master.
          type: int
        released_master:
          description: Times it left the master state.
          type: int
        transitions:
          description: State changes since start.
          type: int
        drops:
          description: Received packets dropped, per reason (C(auth), C(ttl), C(vrid), C(peer), ...).
          type: dict
        dropped:
          description: Sum of RV(vrrp.instances[].drops).
          type: int
      sample:
        - name: web
          interface: eth0
          vrid: 51
          version: 2
          state: MASTER
          priority: 150
          effective_priority: 150
          address: 198.51.100.11
          master_address: 198.51.100.11
          master_priority: 150
          advert_interval: 1.0
          vips: [198.51.100.50/24]
          vips_held: [198.51.100.50/24]
          tracked: []
          adverts_sent: 120
          adverts_received: 0
          priority_zero_sent: 0
          priority_zero_received: 0
          became_master: 1
          released_master: 0
          transitions: 2
          drops: {auth: 0, ttl: 0, vrid: 0}
          dropped: 0
    masters:
      description: Names of the instances this host is master of.
      type: list
      elements: str
      sample: [web]
    vips_held:
      description: Every virtual address this host holds.
      type: list
      elements: str
      sample: [198.51.100.50/24]
    sync_groups:
      description: Sync groups with their state and members.
      type: list
      elements: dict
      sample: [{name: web, state: MASTER, members: [web, web_gw]}]
    socket_drops:
      description: Packets dropped per receive socket (C(IFACE/ipvN)) before they reached an instance, per reason.
      type: dict
      sample: {eth0/ipv4: {vrid: 0, ttl: 0}}
lb:
  description: The load-balancing side; null when the daemon runs no virtual server. Left out unless O(gather) has V(lb).
  returned: success and O(gather) contains V(lb)
  type: dict
  contains:
    backend:
      description: The data plane (V(ipvs) or V(nftables)).
      type: str
      sample: nftables
    virtual_servers:
      description: One entry per virtual server.
      type: list
      elements: dict
      contains:
        name:
          description: The daemon's name for it (C(PROTO IP:PORT), C(PROTO fwmark N), C(PROTO group NAME)).
          type: str
        quorum_up:
          description: Whether its quorum is met (null when no quorum is configured).
          type: bool
        services:
          description: The kernel services it programs.
          type: list
          elements: str
        real_servers_up:
          description: How many of its real servers pass their health checks.
          type: int
        real_servers:
          description: Its real servers.
          type: list
          elements: dict
          contains:
            address:
              description: Address of the real server.
              type: str
            port:
              description: Port of the real server.
              type: int
            up:
              description: Health-check state.
              type: bool
            weight:
              description: The effective (runtime) weight, 0 when drained or down with inhibit_on_failure.
              type: int
            configured_weight:
              description: The weight of the running configuration.
              type: int
            drained:
              description: Whether the daemon holds the server drained.
              type: bool
            in_table:
              description: Whether the server is in the kernel's table.
              type: bool
            active_connections:
              description: Active connections in the kernel's table.
              type: int
            inactive_connections:
              description: Inactive connections in the kernel's table.
              type: int
      sample:
        - name: TCP 198.51.100.50:80
          quorum_up: null
          services: [TCP 198.51.100.50:80]
          real_servers_up: 2
          real_servers:
            - {address: 192.0.2.21, port: 80, up: true, weight: 1, configured_weight: 1, drained: false,
               in_table: true, active_connections: 0, inactive_connections: 2}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.hapair.keepalived.plugins.module_utils.keepalived_info import MODULE_KWARGS, run  # noqa: E402


def main():
    run(AnsibleModule(**MODULE_KWARGS))


if __name__ == "__main__":
    main()
