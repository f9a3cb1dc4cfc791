#!/usr/bin/python
# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module hapair.keepalived.config_fragments (logic in module_utils/config_batch.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: config_fragments
short_description: Manage many VRRP instances, virtual servers and real servers in one call
version_added: 0.1.0
description:
  - The batch form of M(hapair.keepalived.vrrp_instance), M(hapair.keepalived.virtual_server)
    and M(hapair.keepalived.real_server) - one module call per host for all of them instead
    of one per object, which is what a fleet roll-out spends its time on.
  - Each item of O(vrrp_instances), O(virtual_servers) and O(real_servers) takes exactly the
    options of its module (without the common ones, which are set once for the task) and is
    checked against that module's argument spec; the fragment files are those the module writes.
  - All changes are validated together by the daemon's checker (C(pykeepalived -t)) on one copy
    of the config, then written atomically; one C(SIGHUP) follows. A rejected change fails with
    the daemon's C(FILE:LINE:COL) errors and writes nothing.
  - It can also carry the rest of a load balancer's idempotent check, so that a second run of the
    role costs one round trip per host - O(sysctl), O(look_for), O(requires) and O(service).
  - A real server may name a virtual server written by the same task. Unlike
    M(hapair.keepalived.real_server), no C(runtime) facts are read from the daemon (use
    M(hapair.keepalived.keepalived_info)), and the deprecated C(state=drained) with C(wait) does not wait.
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
  vrrp_instances:
    description: Options of M(hapair.keepalived.vrrp_instance), one dict per instance.
    type: list
    elements: dict
    default: []
  virtual_servers:
    description: Options of M(hapair.keepalived.virtual_server), one dict per virtual server.
    type: list
    elements: dict
    default: []
  real_servers:
    description: Options of M(hapair.keepalived.real_server), one dict per real server (with its C(virtual_server)).
    type: list
    elements: dict
    default: []
  main_config:
    description:
      - The text of C(keepalived.conf) under O(config_dir), written and validated with the fragments
        (mode 0640, owner root, like the fragments); left alone when not given.
      - It must include C(conf.d/*.conf) with a relative path, as the per-object modules require.
      - With it, the task also makes O(config_dir) and its C(conf.d) (mode 0750, owner root), or
        corrects their mode and owner.
    type: str
  files:
    description:
      - Plain files beside the configuration (a systemd unit), written atomically when their text,
        mode or owner (root) differ; not validated, and not a reason to reload the daemon (a changed
        unit wants a restart, which is the caller's to decide from RV(files)).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Where the file goes.
        type: path
        required: true
      content:
        description: Its text.
        type: str
        required: true
      mode:
        description: Its mode, in octal.
        type: str
        default: "0644"
  sysctl:
    description:
      - Options of M(hapair.keepalived.sysctl) (C(path), C(values), C(state)), whose file and the running
        kernel's values are kept in the same call, before the configuration (applied even when
        O(requires) defers the configuration). Not a reason to reload the daemon.
    type: dict
  look_for:
    description: Paths whose existence RV(found) reports (an installed build's marker, a pending restart's).
    type: list
    elements: path
    default: []
  requires:
    description:
      - When this path does not exist (the daemon the configuration is for is not installed yet),
        nothing of the configuration is written or validated, RV(deferred) is true and the caller
        runs the task again after installing. In check mode the change is computed and shown anyway.
    type: path
  service:
    description: >-
      A systemd unit whose state (what C(systemctl is-enabled), C(is-active) print; one C(systemctl show))
      RV(service) reports, read last.
    type: str
author:
  - hapair.keepalived maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: A pair's instance, its service and two real servers in one call
  hapair.keepalived.config_fragments:
    vrrp_instances:
      - {name: VI_web, interface: eth0, vrid: 51, priority: 150, vips: [192.0.2.100/24]}
    virtual_servers:
      - {address: 192.0.2.100, port: 80, lb_algo: wrr, lb_kind: NAT}
    real_servers:
      - {virtual_server: {address: 192.0.2.100, port: 80}, address: 192.0.2.21, port: 80}
      - {virtual_server: {address: 192.0.2.100, port: 80}, address: 192.0.2.22, port: 80}
"""

RETURN = r"""
vrrp_instances:
  description: One entry per item of O(vrrp_instances), in order, with its C(fragment) and whether it C(changed).
  returned: always
  type: list
  elements: dict
  sample: [{fragment: /etc/pykeepalived/conf.d/vrrp_instance-VI_web.conf, changed: false}]
virtual_servers:
  description: One entry per item of O(virtual_servers), as for O(vrrp_instances).
  returned: always
  type: list
  elements: dict
real_servers:
  description: One entry per item of O(real_servers), as for O(vrrp_instances), plus its configured C(weight).
  returned: always
  type: list
  elements: dict
fragments:
  description: Every fragment file the items own, sorted (what a purge of other fragments keeps).
  returned: always
  type: list
  elements: str
fragments_on_host:
  description:
    - Every instance, virtual server and real server fragment file in C(conf.d) and one level
      below, after the change (in check mode, as they are); a purge removes those not in RV(fragments).
  returned: always
  type: list
  elements: str
files:
  description: One entry per item of O(files), in order, with its C(path) and whether it C(changed).
  returned: always
  type: list
  elements: dict
  sample: [{path: /etc/systemd/system/pykeepalived.service, changed: false}]
reloaded:
  description: Whether the running daemon was sent C(SIGHUP) (after a change of the configuration). Always false in check mode.
  returned: always
  type: bool
diff:
  description: One entry per file that changed (or would change), with its text before and after.
  returned: always
  type: list
  elements: dict
deferred:
  description: Whether the configuration was left alone because O(requires) does not exist.
  returned: always
  type: bool
found:
  description: The paths of O(look_for) that exist.
  returned: always
  type: list
  elements: str
sysctl:
  description: With O(sysctl), its C(path), whether it C(changed) and the C(kernel) keys written (or that would be).
  returned: when O(sysctl) is given
  type: dict
service:
  description:
    - With O(service), its C(name) and what systemctl says it is, C(enabled) (V(enabled), V(disabled),
      V(not-found)...) and C(active).
  returned: when O(service) is given
  type: dict
  sample: {name: pykeepalived.service, enabled: enabled, active: active}
errors:
  description: The daemon's C(FILE:LINE:COL) error lines when it rejected the change.
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.hapair.keepalived.plugins.module_utils import config_batch  # noqa: E402


def main():
    module = AnsibleModule(**config_batch.MODULE_KWARGS)
    config_batch.run(module)


if __name__ == "__main__":
    main()
