#!/usr/bin/python
# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module hapair.keepalived.real_server (logic in module_utils/real_server.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: real_server
short_description: Manage one real server of a pykeepalived virtual service, with its health checker
version_added: 0.1.0
description:
  - Writes one C(real_server IP PORT { ... }) block, with its checker, to
    C(conf.d/virtual_server-ID.d/real_server-IP_PORT.conf) under O(config_dir); the virtual
    server's fragment (M(hapair.keepalived.virtual_server)) includes that directory inside its block.
  - The virtual server's fragment must exist (outside check mode the task fails otherwise).
  - Every change is validated by the daemon's own checker (C(pykeepalived -t)) on a copy of the
    whole config before the live file is replaced atomically; a rejected change fails with the
    daemon's C(FILE:LINE:COL) error lines and leaves every file as it was. After a change the
    running daemon is reloaded with C(SIGHUP), never restarted.
  - The module never changes the running daemon's runtime state - a runtime drain or runtime
    weight set with M(hapair.keepalived.real_server_state) stays in force whatever this module
    writes (O(state=present) included); it only reads the daemon's view of the server (RV(runtime)).
  - O(state=drained) is deprecated (a config-level drain, see its description); drain at runtime
    with M(hapair.keepalived.real_server_state).
  - Running the same task again reports no change, in check mode too.
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
  virtual_server:
    description: The virtual service this real server belongs to, named as in M(hapair.keepalived.virtual_server).
    type: dict
    required: true
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
        description: The service's protocol, when not TCP (it is part of the service's fragment name).
        type: str
        choices: [TCP, UDP, SCTP]
  address:
    description: Address of the real server.
    type: str
    required: true
  port:
    description: Port of the real server.
    type: int
  state:
    description:
      - V(present) writes the fragment; V(absent) removes it.
      - V(drained) (deprecated, removal in 1.0.0) writes it with C(weight 0) (whatever O(weight) says) -
        a config-level drain, applied by the reload like any config change and undone by the next
        task that writes the fragment with O(state=present) (the role's next run among them).
        Use M(hapair.keepalived.real_server_state) for a runtime drain that nothing undoes.
    type: str
    choices: [present, absent, drained]
    default: present
  weight:
    description: C(weight), 0-65535 (daemon default 1). Ignored with O(state=drained).
    type: int
  lb_kind:
    description: Forwarding method of this real server (C(lb_kind)).
    type: str
    choices: [NAT, DR, TUN]
  inhibit_on_failure:
    description: C(inhibit_on_failure on|off) for this real server.
    type: bool
  uthreshold:
    description: C(uthreshold), the upper connection limit.
    type: int
  lthreshold:
    description: C(lthreshold), the lower connection limit.
    type: int
  notify_up:
    description: Command run when the real server comes up (run without a shell).
    type: str
  notify_down:
    description: Command run when the real server goes down.
    type: str
  wait:
    description:
      - With O(state=drained), wait until the reload gave the server weight 0 in the running daemon and
        its active connections reached 0 (or fail after O(drain_timeout) seconds). Needs the running
        daemon; ignored in check mode.
    type: bool
    default: false
  drain_timeout:
    description: Seconds O(wait) waits for the active connections to end.
    type: float
    default: 300.0
  checker:
    description:
      - The health checker block. Options not given are left out (inherited from the virtual server or defaulted).
      - Which options a checker type accepts is decided by the daemon's checker (see C(docs/config-reference.md)).
    type: dict
    suboptions:
      type:
        description:
          - Checker block name.
        type: str
        required: true
        choices: [TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK, MISC_CHECK, PING_CHECK, UDP_CHECK, FILE_CHECK]
      urls:
        description: C(url) blocks of C(HTTP_GET)/C(SSL_GET).
        type: list
        elements: dict
        suboptions:
          path:
            description: C(path) to request (starts with C(/)).
            type: str
            required: true
          status_code:
            description: Accepted status codes, each V(NNN) or a range V(NNN-NNN) (default 200-299).
            type: list
            elements: str
          digest:
            description: MD5 of the body (32 hex digits, see genhash).
            type: str
          virtualhost:
            description: Host header for this URL.
            type: str
      connect_ip:
        description: C(connect_ip), address to check instead of the real server's.
        type: str
      connect_port:
        description: C(connect_port), port to check instead of the real server's.
        type: int
      bindto:
        description: C(bindto), source address of the checks.
        type: str
      bind_port:
        description: C(bind_port), source port of the checks.
        type: int
      bind_if:
        description: C(bind_if), interface for IPv6 link-local checks.
        type: str
      fwmark:
        description: C(fwmark) set on check packets.
        type: int
      connect_timeout:
        description: C(connect_timeout) in seconds.
        type: float
      retry:
        description: C(retry), failures before the server is marked down.
        type: int
      delay_before_retry:
        description: C(delay_before_retry) in seconds.
        type: float
      warmup:
        description: C(warmup) in seconds.
        type: float
      delay_loop:
        description: C(delay_loop), seconds between checks.
        type: float
      alpha:
        description: C(alpha on|off).
        type: bool
      log_all_failures:
        description: C(log_all_failures on|off).
        type: bool
      virtualhost:
        description: C(virtualhost), Host header for HTTP_GET/SSL_GET.
        type: str
      http_protocol:
        description: C(http_protocol) of HTTP_GET/SSL_GET.
        type: str
        choices: ['1.0', '1.0C', '1.1']
      fast_recovery:
        description: C(fast_recovery on|off).
        type: bool
      enable_sni:
        description: C(enable_sni) when true (SSL_GET).
        type: bool
      helo_name:
        description: C(helo_name) of SMTP_CHECK.
        type: str
      dns_type:
        description: C(type) of DNS_CHECK's query.
        type: str
        choices: [A, NS, CNAME, SOA, MX, TXT, AAAA]
      dns_name:
        description: C(name) of DNS_CHECK's query.
        type: str
      misc_path:
        description: C(misc_path), the MISC_CHECK command (run without a shell).
        type: str
      misc_timeout:
        description: C(misc_timeout) in seconds.
        type: float
      misc_dynamic:
        description: C(misc_dynamic) when true (exit code sets the weight).
        type: bool
      user:
        description: C(user) (and group) the MISC_CHECK command runs as.
        type: str
      min_reply_length:
        description: C(min_reply_length) of UDP_CHECK's reply.
        type: int
      max_reply_length:
        description: C(max_reply_length) of UDP_CHECK's reply.
        type: int
      payload:
        description: C(payload) UDP_CHECK sends, keepalived's free-format hex (V(0a0b 0c), two digits a byte).
        type: str
      require_reply:
        description:
          - C(require_reply) of UDP_CHECK, hex as O(checker.payload); V(x) is a nibble of any value.
          - An empty string requires a reply of any content.
        type: str
      track_file:
        description: C(track_file) of FILE_CHECK, the C(track_file) block whose value is read.
        type: str
      file_weight:
        description: C(weight) of FILE_CHECK (the file's value times it is added to the weight; 0 makes a non-zero value down).
        type: int
      file_reverse:
        description: C(reverse) after FILE_CHECK's weight.
        type: bool
      file_dynamic:
        description: C(dynamic) of FILE_CHECK.
        type: bool
  virtualhost: {description: C(virtualhost) of this server's HTTP checkers., type: str}
  smtp_alert: {description: C(smtp_alert on|off)., type: bool}
  connect_timeout: {description: C(connect_timeout) for this server's checkers., type: float}
  retry: {description: C(retry) for this server's checkers., type: int}
  delay_before_retry: {description: C(delay_before_retry)., type: float}
  warmup: {description: C(warmup)., type: float}
  delay_loop: {description: C(delay_loop) for this server., type: float}
  alpha: {description: C(alpha on|off)., type: bool}
  checkers:
    description:
      - Several checker blocks (keepalived allows more than one per real server), each with the
        suboptions of O(checker); mutually exclusive with O(checker).
    type: list
    elements: dict
    suboptions:
      type:
        description:
          - Checker block name.
        type: str
        required: true
        choices: [TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK, MISC_CHECK, PING_CHECK, UDP_CHECK, FILE_CHECK]
      urls:
        description: C(url) blocks of C(HTTP_GET)/C(SSL_GET).
        type: list
        elements: dict
        suboptions:
          path:
            description: C(path) to request (starts with C(/)).
            type: str
            required: true
          status_code:
            description: Accepted status codes, each V(NNN) or a range V(NNN-NNN) (default 200-299).
            type: list
            elements: str
          digest:
            description: MD5 of the body (32 hex digits, see genhash).
            type: str
          virtualhost:
            description: Host header for this URL.
            type: str
      connect_ip:
        description: C(connect_ip), address to check instead of the real server's.
        type: str
      connect_port:
        description: C(connect_port), port to check instead of the real server's.
        type: int
      bindto:
        description: C(bindto), source address of the checks.
        type: str
      bind_port:
        description: C(bind_port), source port of the checks.
        type: int
      bind_if:
        description: C(bind_if), interface for IPv6 link-local checks.
        type: str
      fwmark:
        description: C(fwmark) set on check packets.
        type: int
      connect_timeout:
        description: C(connect_timeout) in seconds.
        type: float
      retry:
        description: C(retry), failures before the server is marked down.
        type: int
      delay_before_retry:
        description: C(delay_before_retry) in seconds.
        type: float
      warmup:
        description: C(warmup) in seconds.
        type: float
      delay_loop:
        description: C(delay_loop), seconds between checks.
        type: float
      alpha:
        description: C(alpha on|off).
        type: bool
      log_all_failures:
        description: C(log_all_failures on|off).
        type: bool
      virtualhost:
        description: C(virtualhost), Host header for HTTP_GET/SSL_GET.
        type: str
      http_protocol:
        description: C(http_protocol) of HTTP_GET/SSL_GET.
        type: str
        choices: ['1.0', '1.0C', '1.1']
      fast_recovery:
        description: C(fast_recovery on|off).
        type: bool
      enable_sni:
        description: C(enable_sni) when true (SSL_GET).
        type: bool
      helo_name:
        description: C(helo_name) of SMTP_CHECK.
        type: str
      dns_type:
        description: C(type) of DNS_CHECK's query.
        type: str
        choices: [A, NS, CNAME, SOA, MX, TXT, AAAA]
      dns_name:
        description: C(name) of DNS_CHECK's query.
        type: str
      misc_path:
        description: C(misc_path), the MISC_CHECK command (run without a shell).
        type: str
      misc_timeout:
        description: C(misc_timeout) in seconds.
        type: float
      misc_dynamic:
        description: C(misc_dynamic) when true (exit code sets the weight).
        type: bool
      user:
        description: C(user) (and group) the MISC_CHECK command runs as.
        type: str
      min_reply_length:
        description: C(min_reply_length) of UDP_CHECK's reply.
        type: int
      max_reply_length:
        description: C(max_reply_length) of UDP_CHECK's reply.
        type: int
      payload:
        description: C(payload) UDP_CHECK sends, keepalived's free-format hex (V(0a0b 0c), two digits a byte).
        type: str
      require_reply:
        description:
          - C(require_reply) of UDP_CHECK, hex as O(checker.payload); V(x) is a nibble of any value.
          - An empty string requires a reply of any content.
        type: str
      track_file:
        description: C(track_file) of FILE_CHECK, the C(track_file) block whose value is read.
        type: str
      file_weight:
        description: C(weight) of FILE_CHECK (the file's value times it is added to the weight; 0 makes a non-zero value down).
        type: int
      file_reverse:
        description: C(reverse) after FILE_CHECK's weight.
        type: bool
      file_dynamic:
        description: C(dynamic) of FILE_CHECK.
        type: bool
notes:
  - Connection counts are the kernel's (IPVS entries, or conntrack with nftables), read for this server only.
seealso:
  - module: hapair.keepalived.virtual_server
  - module: hapair.keepalived.real_server_state
author:
  - hapair.keepalived maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Backend with an HTTP health check
  hapair.keepalived.real_server:
    virtual_server:
      address: 192.0.2.100
      port: 80
    address: 10.0.0.11
    port: 8080
    weight: 10
    checker:
      type: HTTP_GET
      connect_timeout: 3
      urls:
        - path: /health
          status_code: ["200"]

- name: Drain a backend at runtime (nothing in the config changes; the role does not undo it)
  hapair.keepalived.real_server_state:
    address: 10.0.0.11
    port: 8080
    state: drained
    wait: true

- name: The UDP DNS service its backends belong to (a real server needs its virtual server)
  hapair.keepalived.virtual_server:
    address: 192.0.2.53
    port: 53
    protocol: UDP
    lb_algo: rr
    lb_kind: NAT

- name: DNS backend of a UDP service
  hapair.keepalived.real_server:
    virtual_server:
      address: 192.0.2.53
      port: 53
      protocol: UDP
    address: 10.0.0.53
    port: 53
    checker:
      type: DNS_CHECK
      dns_type: SOA
      dns_name: example.org
"""

RETURN = r"""
fragment:
  description: The fragment file this task manages.
  returned: always
  type: str
  sample: /etc/pykeepalived/conf.d/virtual_server-192.0.2.100_80.d/real_server-10.0.0.11_8080.conf
weight:
  description: The weight written to the fragment (0 when drained; null when absent or left to the daemon's default).
  returned: always
  type: int
  sample: 0
runtime:
  description:
    - The running daemon's view of the server after the task (null when the daemon does not run or
      does not know the server yet). A reload is applied asynchronously, so a change just written may
      not show yet.
  returned: always
  type: dict
  contains:
    up:
      description: Health-check state.
      type: bool
    drained:
      description: Whether the server is drained at runtime (M(hapair.keepalived.real_server_state)).
      type: bool
    weight:
      description: The effective weight (0 when drained or down with inhibit_on_failure).
      type: int
    configured_weight:
      description: The weight of the running config.
      type: int
    runtime_weight:
      description: The runtime weight (M(hapair.keepalived.real_server_state)), or null.
      type: int
    active_connections:
      description: Established connections through this host, to a virtual address it holds (docs/operations.md).
      type: int
    inactive_connections:
      description: Inactive connections in the kernel's table.
      type: int
  sample: {up: true, drained: false, weight: 0, configured_weight: 0, runtime_weight: null, active_connections: 0,
           inactive_connections: 3}
reloaded:
  description:
    - Whether the running daemon was sent C(SIGHUP). Always false in check mode.
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
    - before: "real_server 10.0.0.11 8080 {\n    weight 10\n}\n"
      after: "real_server 10.0.0.11 8080 {\n    weight 0\n}\n"
      before_header: /etc/pykeepalived/conf.d/virtual_server-192.0.2.100_80.d/real_server-10.0.0.11_8080.conf
      after_header: /etc/pykeepalived/conf.d/virtual_server-192.0.2.100_80.d/real_server-10.0.0.11_8080.conf
errors:
  description: The daemon's C(FILE:LINE:COL) error lines when it rejected the change (paths under O(config_dir)).
  returned: failure
  type: list
  elements: str
  sample:
    - "/etc/pykeepalived/conf.d/virtual_server-192.0.2.100_80.d/real_server-10.0.0.11_8080.conf:4:5: error: weight:
      value must be at most 65535 (got 70000)"
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.hapair.keepalived.plugins.module_utils.real_server import MODULE_KWARGS, RealServer  # noqa: E402


def main():
    module = AnsibleModule(**MODULE_KWARGS)
    RealServer(module).run()


if __name__ == "__main__":
    main()
