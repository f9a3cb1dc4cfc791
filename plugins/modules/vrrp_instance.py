#!/usr/bin/python
# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module hapair.keepalived.vrrp_instance (logic in module_utils/vrrp_instance.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: vrrp_instance
short_description: Manage one pykeepalived VRRP instance as a config fragment
version_added: 0.1.0
description:
  - Writes one C(vrrp_instance) block to C(conf.d/vrrp_instance-NAME.conf) under O(config_dir),
    validated by the daemon's own checker (C(pykeepalived -t)) on a copy of the whole config
    before the live file is replaced atomically; a rejected change fails with the daemon's
    C(FILE:LINE:COL) error lines and leaves every file as it was.
  - After a change the running daemon is reloaded with C(SIGHUP), never restarted.
  - The fragment holds exactly the options given; an option left out is left out of the
    fragment (the daemon's default applies). The module checks only the options with choices;
    every other value is checked by the daemon (see C(docs/config-reference.md)).
  - With O(sync_group) the instance is a member of C(vrrp_sync_group NAME), kept in
    C(conf.d/vrrp_sync_group-NAME.conf) (created with the first member, removed with the last).
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
  name:
    description: Instance name (C(vrrp_instance NAME)); also names the fragment file.
    type: str
    required: true
  state:
    description: V(present) writes the fragment, V(absent) removes it and its sync group membership.
    type: str
    choices: [present, absent]
    default: present
  interface:
    description: Interface the instance runs on. Required with O(state=present).
    type: str
  vrid:
    description: C(virtual_router_id), 1-255. Required with O(state=present).
    type: int
  priority:
    description: C(priority), 1-255 (255 = address owner).
    type: int
  initial_state:
    description: C(state), the initial state.
    type: str
    choices: [MASTER, BACKUP]
  version:
    description: VRRP C(version).
    type: int
    choices: [2, 3]
  advert_int:
    description: C(advert_int) in seconds (fractions only with version 3).
    type: float
  preempt:
    description: V(false) writes C(nopreempt); V(true) or unset keeps the default (preempt).
    type: bool
  preempt_delay:
    description: C(preempt_delay) in seconds.
    type: float
  auth_pass:
    description:
      - Password for C(authentication { auth_type PASS; auth_pass ... }) (VRRPv2 only, at most 8 characters).
    type: str
  vips:
    description:
      - C(virtual_ipaddress) entries, one per line. Each is an address string (V(192.0.2.10/24))
        or a dict with C(address) and optional C(dev), C(label), C(scope), C(brd), C(no_track) (bool).
    type: list
    elements: raw
    default: []
  unicast_src_ip:
    description: C(unicast_src_ip).
    type: str
  unicast_peers:
    description: C(unicast_peer) addresses, one per line.
    type: list
    elements: str
    default: []
  track_scripts:
    description:
      - C(track_script) entries; each a C(vrrp_script) name or a dict with C(name) and C(weight).
      - The C(vrrp_script) blocks themselves live in the main config.
    type: list
    elements: raw
    default: []
  track_interfaces:
    description: C(track_interface) entries; each an interface name or a dict with C(name) and C(weight).
    type: list
    elements: raw
    default: []
  track_files:
    description: C(track_file) entries; each a C(track_file) name or a dict with C(name) and C(weight).
    type: list
    elements: raw
    default: []
  notify_master:
    description: Command run on becoming master (C(command [args]); run without a shell).
    type: str
  notify_backup:
    description: Command run on becoming backup.
    type: str
  notify_fault:
    description: Command run on entering fault.
    type: str
  notify_stop:
    description: Command run when the instance stops.
    type: str
  notify:
    description: Command run on every change, with C(INSTANCE NAME STATE PRIORITY) appended.
    type: str
  garp_master_delay:
    description: C(garp_master_delay) in seconds.
    type: int
  garp_master_repeat:
    description: C(garp_master_repeat), gratuitous ARPs per burst.
    type: int
  garp_master_refresh:
    description: C(garp_master_refresh) in seconds (0 = off).
    type: int
  garp_master_refresh_repeat:
    description: C(garp_master_refresh_repeat).
    type: int
  vips_excluded:
    description: C(virtual_ipaddress_excluded), addresses moved with the instance but not in its adverts; items as in O(vips).
    type: list
    elements: raw
    default: []
  mcast_src_ip:
    description: C(mcast_src_ip), source address of multicast adverts.
    type: str
  dont_track_primary:
    description: C(dont_track_primary), ignore faults of the instance's own interface.
    type: bool
  accept:
    description: C(accept on|off), Accept_Mode.
    type: bool
  strict_mode:
    description: C(strict_mode on|off).
    type: bool
  lower_prio_no_advert:
    description: C(lower_prio_no_advert on|off).
    type: bool
  higher_prio_send_advert:
    description: C(higher_prio_send_advert on|off).
    type: bool
  garp_lower_prio_delay:
    description: C(garp_lower_prio_delay) in seconds.
    type: int
  garp_lower_prio_repeat:
    description: C(garp_lower_prio_repeat).
    type: int
  smtp_alert:
    description: C(smtp_alert on|off).
    type: bool
  sync_group_options:
    description: Settings of the O(sync_group) block (every member should pass the same).
    type: dict
    suboptions:
      notify_master: {description: C(notify_master) script of the group., type: str}
      notify_backup: {description: C(notify_backup) script of the group., type: str}
      notify_fault: {description: C(notify_fault) script of the group., type: str}
      notify_stop: {description: C(notify_stop) script of the group., type: str}
      notify: {description: C(notify) script of the group., type: str}
      smtp_alert: {description: C(smtp_alert on|off) of the group., type: bool}
  sync_group:
    description:
      - Name of the C(vrrp_sync_group) this instance belongs to. Unset means no sync group
        (an existing membership is removed).
    type: str
seealso:
  - module: hapair.keepalived.virtual_server
  - module: hapair.keepalived.real_server
author:
  - hapair.keepalived maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Web VIP, master side
  hapair.keepalived.vrrp_instance:
    name: VI_web
    interface: eth0
    vrid: 51
    priority: 150
    initial_state: MASTER
    auth_pass: "{{ vrrp_secret }}"
    vips:
      - 192.0.2.100/24
      - address: 192.0.2.101/24
        dev: eth0
        label: eth0:web
    unicast_src_ip: 192.0.2.11
    unicast_peers: [192.0.2.12]
    track_scripts:
      - name: chk_nginx
        weight: -60
    notify_master: /usr/local/bin/notify master
    sync_group: SG_web

- name: Remove an instance
  hapair.keepalived.vrrp_instance:
    name: VI_old
    state: absent
"""

RETURN = r"""
fragment:
  description: The fragment file this task manages.
  returned: always
  type: str
  sample: /etc/pykeepalived/conf.d/vrrp_instance-VI_web.conf
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
      after: "vrrp_instance VI_web {\n    interface eth0\n    virtual_router_id 51\n}\n"
      before_header: /etc/pykeepalived/conf.d/vrrp_instance-VI_web.conf (absent)
      after_header: /etc/pykeepalived/conf.d/vrrp_instance-VI_web.conf
errors:
  description: The daemon's C(FILE:LINE:COL) error lines when it rejected the change (paths under O(config_dir)).
  returned: failure
  type: list
  elements: str
  sample:
    - "/etc/pykeepalived/conf.d/vrrp_instance-VI_web.conf:6:5: error: priority: value must be at most 255 (got 300)"
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.hapair.keepalived.plugins.module_utils.vrrp_instance import MODULE_KWARGS, VrrpInstance  # noqa: E402


def main():
    module = AnsibleModule(**MODULE_KWARGS)
    VrrpInstance(module).run()


if __name__ == "__main__":
    main()
