# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vrrp_unready filter: why a restarted host is not back yet (empty when it is)."""

from __future__ import annotations

from ansible_collections.hapair.keepalived.plugins.module_utils.keepalived_info import unready

DOCUMENTATION = r"""
name: vrrp_unready
short_description: Why a host's VRRP instances are not where they should be
version_added: 0.1.0
description:
  - Compares a registered M(hapair.keepalived.keepalived_info) result with the instances the host
    should run and returns one line per instance that is missing, in another state, or a
    C(BACKUP) that has not received an advert yet (so it could not take over).
  - An empty list means the host is back; the role waits for that after each restart.
options:
  _input:
    description: A registered M(hapair.keepalived.keepalived_info) result (a failed one gives its message).
    type: dict
    required: true
  expected:
    description:
      - The instances to check, each with C(name) and the wanted C(state) (V(MASTER) or V(BACKUP)),
        for example the host's entries of M(hapair.keepalived.ha_pairs#filter).
      - A V(MASTER)-wanted instance may also be a C(BACKUP) that hears a master when it will not preempt,
        with C(preempt) false or when that master outranks it.
    type: list
    elements: dict
    required: true
  host:
    description: Host name the lines start with.
    type: str
    default: this host
"""

EXAMPLES = r"""
- name: Ask the daemon
  hapair.keepalived.keepalived_info:
    gather: [vrrp]
  register: info
  until: "info | hapair.keepalived.vrrp_unready([{'name': 'web', 'state': 'BACKUP'}]) | length == 0"
  retries: 30
  delay: 1
"""

RETURN = r"""
_value:
  description: One line per instance that is not back, naming the host and the instance.
  type: list
  elements: str
"""


def vrrp_unready_filter(info, expected, host="this host"):
    """Jinja entry point."""
    return unready(dict(info or {}), list(expected or []), host)


class FilterModule:
    """hapair.keepalived filters."""

    def filters(self):
        return {"vrrp_unready": vrrp_unready_filter}
