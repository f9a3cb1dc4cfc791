# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""virtual_server: options -> ``conf.d/virtual_server-ID.conf``.

ID is ``IP_PORT`` (or ``IP`` without a port), ``fwmark-N`` or ``group-NAME``, with
``-udp`` / ``-sctp`` appended for a non-TCP service (so TCP and UDP 53 on one address
are two fragments). The fragment's block ends with ``include virtual_server-ID.d/*.conf``:
the real servers, one fragment each, written by the real_server module.
"""

from __future__ import annotations

import glob
import ipaddress
import os

from ansible_collections.hapair.keepalived.plugins.module_utils import choices
from ansible_collections.hapair.keepalived.plugins.module_utils.fragments import (
    ConfigObject,
    common_argument_spec,
    safe_id,
)
from ansible_collections.hapair.keepalived.plugins.module_utils.syntax import Block, apply_table, fragment_text

SIMPLE = (
    ("protocol", "protocol", "value"),
    ("lb_algo", "lb_algo", "value"),
    ("lb_kind", "lb_kind", "value"),
    ("persistence_timeout", "persistence_timeout", "value"),
    ("persistence_granularity", "persistence_granularity", "value"),
    ("ip_family", "ip_family", "value"),
    ("delay_loop", "delay_loop", "value"),
    ("connect_timeout", "connect_timeout", "value"),
    ("retry", "retry", "value"),
    ("delay_before_retry", "delay_before_retry", "value"),
    ("warmup", "warmup", "value"),
    ("virtualhost", "virtualhost", "value"),
    ("ha_suspend", "ha_suspend", "flag"),
    ("smtp_alert", "smtp_alert", "onoff"),
    ("alpha", "alpha", "onoff"),
    ("omega", "omega", "onoff"),
    ("inhibit_on_failure", "inhibit_on_failure", "onoff"),
    ("quorum", "quorum", "value"),
    ("hysteresis", "hysteresis", "value"),
    ("quorum_up", "quorum_up", "value"),
    ("quorum_down", "quorum_down", "value"),
)
SORRY_AT = 12  # sorry_server comes after virtualhost in the fragment


def identity_spec():
    """The options naming one virtual service (top level here, ``virtual_server`` in real_server)."""
    return dict(
        address=dict(type="str"),
        port=dict(type="int"),
        fwmark=dict(type="int"),
        group=dict(type="str"),
        protocol=dict(type="str", choices=choices.PROTOCOLS),
    )


IDENTITY_RULES = dict(
    mutually_exclusive=[("address", "fwmark", "group")],
    required_one_of=[("address", "fwmark", "group")],
    required_by={"port": "address"},
)


def argument_spec():
    spec = common_argument_spec()
    spec.update(identity_spec())
    spec.update(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        lb_algo=dict(type="str", choices=choices.SCHEDULERS),
        lb_kind=dict(type="str", choices=choices.FORWARDING_METHODS),
        persistence_timeout=dict(type="int"),
        persistence_granularity=dict(type="str"),
        ip_family=dict(type="str", choices=choices.IP_FAMILIES),
        delay_loop=dict(type="float"),
        connect_timeout=dict(type="float"),
        retry=dict(type="int"),
        delay_before_retry=dict(type="float"),
        warmup=dict(type="float"),
        virtualhost=dict(type="str"),
        ha_suspend=dict(type="bool"),
        smtp_alert=dict(type="bool"),
        alpha=dict(type="bool"),
        omega=dict(type="bool"),
        inhibit_on_failure=dict(type="bool"),
        sorry_server=dict(type="str"),
        sorry_server_port=dict(type="int"),
        sorry_server_inhibit=dict(type="bool"),
        quorum=dict(type="int"),
        hysteresis=dict(type="int"),
        quorum_up=dict(type="str"),
        quorum_down=dict(type="str"),
    )
    return spec


MODULE_KWARGS = dict(
    argument_spec=argument_spec(),
    supports_check_mode=True,
    mutually_exclusive=IDENTITY_RULES["mutually_exclusive"],
    required_one_of=IDENTITY_RULES["required_one_of"],
    required_by=dict(IDENTITY_RULES["required_by"], sorry_server_port="sorry_server", sorry_server_inhibit="sorry_server"),
)


def _address(text):
    """Canonical text of an IP address (lower-case, compressed IPv6); other text unchanged
    (the daemon's checker reports a bad address with its file:line:col)."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


class Service:
    """The identity of one virtual service: file id and the ``virtual_server`` head words."""

    def __init__(self, module, ident):
        self.address = _address(ident["address"]) if ident.get("address") is not None else None
        self.port, self.fwmark, self.group = ident.get("port"), ident.get("fwmark"), ident.get("group")
        if self.fwmark is not None:
            base = f"fwmark-{self.fwmark}"
            self.head = ("virtual_server", "fwmark", self.fwmark)
        elif self.group is not None:
            base = "group-" + safe_id(module, "virtual server group", self.group)
            self.head = ("virtual_server", "group", self.group)
        else:
            base = safe_id(module, "virtual server address", self.address)
            if self.port is not None:
                base += f"_{self.port}"
            self.head = ("virtual_server", self.address, self.port)
        protocol = (ident.get("protocol") or "TCP").lower()
        if protocol != "tcp":
            base += "-" + safe_id(module, "protocol", protocol)
        self.id = f"virtual_server-{base}"

    def fragment(self, conf_d):
        return os.path.join(conf_d, self.id + ".conf")

    def real_server_dir(self, conf_d):
        return os.path.join(conf_d, self.id + ".d")


class VirtualServer(ConfigObject):
    def __init__(self, module):
        super().__init__(module)
        self.service = Service(module, self.params)

    def fragment_path(self):
        return self.service.fragment(self.conf_d)

    def desired(self):
        if self.params["state"] == "present":
            return {self.fragment_path(): self.render()}
        # Its real servers go with it: without the including fragment they are dead files.
        rs_dir = self.service.real_server_dir(self.conf_d)
        files = {self.fragment_path(): None}
        for path in glob.glob(os.path.join(glob.escape(rs_dir), "*.conf")):
            files[path] = None
        return files

    def empty_dirs(self):
        return [self.service.real_server_dir(self.conf_d)]

    def render(self):
        p = dict(self.params)
        if p["protocol"] is None and self.service.fwmark is None:
            p["protocol"] = "TCP"  # written: unsaid, keepalived and the daemon take UDP (with a warning)
        block = Block(*self.service.head)
        apply_table(block, p, SIMPLE[:SORRY_AT])
        if p["sorry_server"] is not None:
            block.add("sorry_server", _address(p["sorry_server"]), p["sorry_server_port"])
        block.flag("sorry_server_inhibit", p["sorry_server_inhibit"])
        apply_table(block, p, SIMPLE[SORRY_AT:])
        block.include(f"{self.service.id}.d/*.conf")
        header = self.header + (f"Real servers: one file each in {self.service.id}.d/ (hapair.keepalived.real_server).",)
        return fragment_text(header, block)
