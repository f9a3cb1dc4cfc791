# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the modules ask systemd and tell it, through systemctl (PID 1's private socket as
root: no D-Bus needed): a unit's state, enabling it, a daemon-reload. Used inside one
module call with the files it goes with, so that a host costs one round trip."""

from __future__ import annotations


def _systemctl(module, *args, check=False):
    binary = module.get_bin_path("systemctl", required=True)
    rc, out, err = module.run_command([binary, *args])
    if check and rc != 0:
        module.fail_json(msg=f"systemctl {' '.join(args)} failed ({rc}): {(err or out).strip()}")
    return out.strip()


def state(module, name):
    """{name, enabled, active}: what ``systemctl is-enabled`` / ``is-active`` print
    (``enabled``, ``disabled``, ``not-found``...; ``active``, ``inactive``, ``failed``...),
    read with one ``systemctl show`` (one process on the host, not two)."""
    out = _systemctl(module, "show", "--property=LoadState,UnitFileState,ActiveState", name)
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return dict(name=name, enabled=props.get("UnitFileState") or "not-found",
                active=props.get("ActiveState") or "unknown")


def enable(module, name):
    _systemctl(module, "enable", name, check=True)


def daemon_reload(module):
    _systemctl(module, "daemon-reload", check=True)
