# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by the vrrp_instance, virtual_server and real_server modules."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  config_dir:
    description:
      - The pykeepalived configuration directory. Its main file C(keepalived.conf) must
        include C(conf.d/*.conf) with a relative path; this module writes one fragment per
        object under C(conf.d/).
      - Every change is validated by copying this directory to a temporary one, applying
        the change there and running C(pykeepalived -t) on the copy.
    type: path
    default: /etc/pykeepalived
  runtime_dir:
    description:
      - The daemon's runtime directory; C(pykeepalived.pid) in it names the process that
        gets C(SIGHUP) after a change.
    type: path
    default: /run/pykeepalived
  pykeepalived_bin:
    description:
      - The pykeepalived program whose config checker (C(-t)) validates every change.
        If it does not exist, C(pykeepalived) on E(PATH) is used.
      - When neither exists the task fails, except in check mode, where it warns and
        skips validation (so a check-mode run on a fresh host succeeds).
    type: path
    default: /opt/pykeepalived/bin/pykeepalived
  reload:
    description:
      - After a change, send C(SIGHUP) to the running daemon (a reload, never a restart).
        Nothing is sent when no daemon runs or the pid file is stale.
    type: bool
    default: true
"""
