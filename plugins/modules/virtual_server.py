#!/usr/bin/python
# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module hapair.keepalived.virtual_server (logic in module_utils/virtual_server.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: virtual_server
short_description: Manage one pykeepalived virtual service (IPVS) as a config fragment
version_added: 0.1.0
description:
  - Writes one C(virtual_server) block to C(conf.d/virtual_server-ID.conf) under O(config_dir),
    where ID is C(IP_PORT) (C(IP) without a port), C(fwmark-N) or C(group-NAME), with
    C(-udp) or C(-sctp) appended for a non-TCP O(protocol).
  - The block ends with C(include virtual_server-ID.d/*.conf); the real servers live there,
    one fragment each, written by M(hapair.keepalived.real_server).
  - Every change is validated by the daemon's own checker (C(pykeepalived -t)) on a copy of the
    whole config before the live file is replaced atomically; a rejected change fails with the
    daemon's C(FILE:LINE:COL) error lines and leaves every file as it was. After a change the
    running daemon is reloaded with C(SIGHUP), never restarted.
  - The fragment holds exactly the options given. The module checks only the options with
    choices; every other value is checked by the daemon (see C(docs/config-reference.md)).
extends_documentation_fragment:
  - hapair.keepalived.common
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
    description: Virtual IP address of the service. One of O(address), O(fwmark), O(group) is required.
    type: str
  port:
    description: Service port (may be left out only for a persistent service).
    type: int
  fwmark:
    description: Firewall mark of the service (C(virtual_server fwmark N)).
    type: int
  group:
    description: Name of a C(virtual_server_group) defined in the main config (C(virtual_server group NAME)).
    type: str
  protocol:
    description:
      - C(protocol). Not given, V(TCP) is written for an address or group service
        (a block without C(protocol) is UDP, as keepalived reads it); a fwmark service gets none.
    type: str
    choices: [TCP, UDP, SCTP]
  state:
    description: V(present) writes the fragment; V(absent) removes it together with its real server fragments.
    type: str
    choices: [present, absent]
    default: present
  lb_algo:
    description: Scheduler (C(lb_algo)).
    type: str
    choices: [rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq, mh, fo, ovf, twos]
  lb_kind:
    description: Forwarding method (C(lb_kind)).
    type: str
    choices: [NAT, DR, TUN]
  persistence_timeout:
    description: C(persistence_timeout) in seconds.
    type: int
  persistence_granularity:
    description: C(persistence_granularity), a netmask.
    type: str
  ip_family:
    description: C(ip_family) (for fwmark and group services).
    type: str
    choices: [inet, inet6]
  delay_loop:
    description: Seconds between health checks (inherited by the real servers' checkers).
    type: float
  connect_timeout:
    description: Checker C(connect_timeout) in seconds, inherited by the checkers.
    type: float
  retry:
    description: Checker C(retry) count, inherited by the checkers.
    type: int
  delay_before_retry:
    description: Checker C(delay_before_retry) in seconds, inherited by the checkers.
    type: float
  warmup:
    description: Checker C(warmup) in seconds, inherited by the checkers.
    type: float
  virtualhost:
    description: Host header for C(HTTP_GET)/C(SSL_GET) checkers, inherited by them.
    type: str
  ha_suspend:
    description: C(ha_suspend) when true.
    type: bool
  alpha:
    description: C(alpha on|off) (real servers start as failed until their first check passes).
    type: bool
  omega:
    description: C(omega on|off) (run C(quorum_down) and C(notify_down) when the service is removed).
    type: bool
  inhibit_on_failure:
    description: C(inhibit_on_failure on|off) (a failed real server gets weight 0 instead of being removed).
    type: bool
  sorry_server:
    description: Address of the C(sorry_server) used while no real server is up.
    type: str
  sorry_server_port:
    description: Port of the sorry server.
    type: int
  sorry_server_inhibit:
    description: C(sorry_server_inhibit) when true.
    type: bool
  quorum:
    description: Minimum total weight of live real servers (C(quorum)).
    type: int
  hysteresis:
    description: C(hysteresis) around the quorum.
    type: int
  quorum_up:
    description: Command run when the quorum is reached (run without a shell).
    type: str
  quorum_down:
    description: Command run when the quorum is lost.
    type: str
  smtp_alert:
    description: C(smtp_alert on|off).
    type: bool
seealso:
  - module: hapair.keepalived.real_server
  - module: hapair.keepalived.vrrp_instance
author:
  - hapair.keepalived maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: HTTP service on the web VIP
  hapair.keepalived.virtual_server:
    address: 192.0.2.100
    port: 80
    protocol: TCP
    lb_algo: wrr
    lb_kind: NAT
    delay_loop: 5
    persistence_timeout: 300
    sorry_server: 192.0.2.200
    sorry_server_port: 8080
    quorum: 1

- name: A firewall-mark service
  hapair.keepalived.virtual_server:
    fwmark: 7
    lb_algo: sh
    lb_kind: DR

- name: Remove a service and its real servers
  hapair.keepalived.virtual_server:
    address: 192.0.2.100
    port: 8080
    state: absent
"""

RETURN = r"""
fragment:
  description: The fragment file this task manages.
  returned: always
  type: str
  sample: /etc/pykeepalived/conf.d/virtual_server-192.0.2.100_80.conf
reloaded:
  description: Whether the running daemon was sent C(SIGHUP). Always false in check mode.
  returned: always
  type: bool
  sample: true
diff:
  description:
    - One entry per file that changed (or would change), with its text before and after;
      an absent file is empty text with C((absent)) in its header.
  returned: always
  type: list
  elements: dict
  sample:
    - before: ""
      after: "virtual_server 192.0.2.100 80 {\n    protocol TCP\n    include virtual_server-192.0.2.100_80.d/*.conf\n}\n"
      before_header: /etc/pykeepalived/conf.d/virtual_server-192.0.2.100_80.conf (absent)
      after_header: /etc/pykeepalived/conf.d/virtual_server-192.0.2.100_80.conf
errors:
  description: The daemon's C(FILE:LINE:COL) error lines when it rejected the change (paths under O(config_dir)).
  returned: failure
  type: list
  elements: str
  sample:
    - "/etc/pykeepalived/conf.d/virtual_server-192.0.2.100_80.conf:4:13: error: lb_algo: must be one of
      rr|wrr|lc|wlc|lblc|lblcr|sh|dh|sed|nq|mh|fo|ovf|twos, got 'foo'"
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.hapair.keepalived.plugins.module_utils.virtual_server import MODULE_KWARGS, VirtualServer  # noqa: E402


def main():
    module = AnsibleModule(**MODULE_KWARGS)
    VirtualServer(module).run()


if __name__ == "__main__":
    main()
