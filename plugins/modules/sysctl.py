#!/usr/bin/python
# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module hapair.keepalived.sysctl (logic in module_utils/sysctl.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: sysctl
short_description: Kernel parameters in one sysctl.d file, applied now and undoable
version_added: 0.1.0
description:
  - Writes O(values) to the file O(path) (read at boot by systemd-sysctl) and sets each value that
    differs in the running kernel through C(/proc/sys), without sysctl(8) or a shell.
  - The file records the value each key had before it was first set; a key dropped from O(values),
    and every key with O(state=absent), gets that value back (unless it was changed since), and
    O(state=absent) removes the file. The role's uninstall uses this to leave the kernel as it was.
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
  path:
    description: The sysctl.d file of these values (one file per purpose).
    type: path
    required: true
  values:
    description: Key (dotted, C(net.ipv4.ip_forward)) -> value.
    type: dict
    default: {}
  state:
    description: V(absent) restores the recorded values and removes the file.
    type: str
    choices: [present, absent]
    default: present
  proc_root:
    description: Where the kernel's parameters are (tests point it elsewhere).
    type: path
    default: /proc/sys
author:
  - hapair.keepalived maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Let services bind VIPs the host does not hold
  hapair.keepalived.sysctl:
    path: /etc/sysctl.d/60-pykeepalived.conf
    values:
      net.ipv4.ip_nonlocal_bind: 1

- name: Undo it
  hapair.keepalived.sysctl:
    path: /etc/sysctl.d/60-pykeepalived.conf
    state: absent
"""

RETURN = r"""
path:
  description: The file.
  returned: always
  type: str
kernel:
  description: Keys written to the running kernel (or that would be, in check mode) and their new values.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.hapair.keepalived.plugins.module_utils.sysctl import MODULE_KWARGS, Sysctls  # noqa: E402


def main():
    module = AnsibleModule(**MODULE_KWARGS)
    Sysctls(module).run()


if __name__ == "__main__":
    main()
