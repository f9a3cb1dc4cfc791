# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nat_gateway: an LVS-NAT real server's default route through the load balancers'
gateway VIP, in one module call: the oneshot unit that sets it at boot (text rendered on
the controller), the unit enabled, and the running route table corrected when its
default route does not go via the gateway (and the device, when one is given)."""

from __future__ import annotations

import os

from ansible_collections.hapair.keepalived.plugins.module_utils import fragments, systemd_unit

UNIT_MODE = 0o644


def argument_spec():
    return dict(
        gateway=dict(type="str", required=True),
        interface=dict(type="str", default=""),
        unit_path=dict(type="path", default="/etc/systemd/system/pykeepalived-nat-gateway.service"),
        unit_content=dict(type="str", required=True),
    )


MODULE_KWARGS = dict(argument_spec=argument_spec(), supports_check_mode=True)


def route_args(gateway, interface):
    """``ip -4 route replace`` arguments of the wanted default route."""
    return ["default", "via", gateway] + (["dev", interface] if interface else [])


def route_ok(default_route, gateway, interface):
    """True if ``ip -4 route show default``'s first line goes via ``gateway`` (and ``interface``)."""
    words = default_route.split()
    pairs = dict(zip(words, words[1:]))
    return pairs.get("via") == gateway and (not interface or pairs.get("dev") == interface)


class NatGateway:
    def __init__(self, module):
        self.module = module
        self.params = module.params

    def ip(self, *args, check=False):
        binary = self.module.get_bin_path("ip", required=True)
        rc, out, err = self.module.run_command([binary, "-4", "route", *args])
        if check and rc != 0:
            self.module.fail_json(msg=f"ip -4 route {' '.join(args)} failed ({rc}): {(err or out).strip()}")
        return out

    def run(self):
        path, text = self.params["unit_path"], self.params["unit_content"]
        name = os.path.basename(path)
        before = fragments.read_text(path)
        unit_changed = not (before == text and fragments.has_mode(path, UNIT_MODE))
        diffs = []
        if unit_changed:
            diffs.append(dict(before=before or "", after=text, after_header=f"{path} (mode 0644)",
                              before_header=path if before is not None else f"{path} (absent)"))
        enabled = systemd_unit.state(self.module, name)["enabled"] == "enabled"
        have = (self.ip("show", "default").splitlines() or [""])[0]
        wanted = route_args(self.params["gateway"], self.params["interface"])
        route_changed = not route_ok(have, self.params["gateway"], self.params["interface"])
        if route_changed:
            diffs.append(dict(before=have + "\n" if have else "", after=" ".join(wanted) + "\n",
                              before_header="default route", after_header="default route"))
        if not self.module.check_mode:
            if unit_changed:
                fragments.write_atomic(self.module, path, text, UNIT_MODE)
                systemd_unit.daemon_reload(self.module)
            if not enabled:
                systemd_unit.enable(self.module, name)
            if route_changed:
                self.ip("replace", *wanted, check=True)
        self.module.exit_json(changed=unit_changed or not enabled or route_changed, unit_changed=unit_changed,
                              enabled_now=not enabled, route_changed=route_changed, route_before=have, diff=diffs)
