# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""real_server: options -> ``conf.d/virtual_server-ID.d/real_server-IP_PORT.conf``,
one ``real_server IP PORT { ... }`` block with its checker, spliced into the virtual
server's block by the ``include`` that the virtual_server fragment carries.

The module never touches the daemon's runtime state (a runtime drain or weight,
real_server_state's): it reads the daemon's view of the server after the reload.
``state: drained`` (deprecated) is a config-level drain: the fragment says
``weight 0`` and the reload applies it; ``wait`` waits for weight 0 in the running
daemon, then for the active connections to end.
"""

from __future__ import annotations

import os
import time

from ansible_collections.hapair.keepalived.plugins.module_utils import choices, control
from ansible_collections.hapair.keepalived.plugins.module_utils.fragments import (
    ConfigObject,
    common_argument_spec,
    safe_id,
)
from ansible_collections.hapair.keepalived.plugins.module_utils.real_server_state import server_facts
from ansible_collections.hapair.keepalived.plugins.module_utils.syntax import Block, apply_table, fragment_text
from ansible_collections.hapair.keepalived.plugins.module_utils.virtual_server import (
    IDENTITY_RULES,
    Service,
    _address,
    identity_spec,
)

SIMPLE = (
    ("lb_kind", "lb_kind", "value"),
    ("inhibit_on_failure", "inhibit_on_failure", "onoff"),
    ("uthreshold", "uthreshold", "value"),
    ("lthreshold", "lthreshold", "value"),
    ("notify_up", "notify_up", "value"),
    ("notify_down", "notify_down", "value"),
    ("virtualhost", "virtualhost", "value"),
    ("smtp_alert", "smtp_alert", "onoff"),
    ("connect_timeout", "connect_timeout", "value"),
    ("retry", "retry", "value"),
    ("delay_before_retry", "delay_before_retry", "value"),
    ("warmup", "warmup", "value"),
    ("delay_loop", "delay_loop", "value"),
    ("alpha", "alpha", "onoff"),
)
CHECKER = (
    ("connect_ip", "connect_ip", "value"),
    ("connect_port", "connect_port", "value"),
    ("bindto", "bindto", "value"),
    ("bind_port", "bind_port", "value"),
    ("bind_if", "bind_if", "value"),
    ("fwmark", "fwmark", "value"),
    ("connect_timeout", "connect_timeout", "value"),
    ("retry", "retry", "value"),
    ("delay_before_retry", "delay_before_retry", "value"),
    ("warmup", "warmup", "value"),
    ("delay_loop", "delay_loop", "value"),
    ("alpha", "alpha", "onoff"),
    ("log_all_failures", "log_all_failures", "onoff"),
    ("virtualhost", "virtualhost", "value"),
    ("http_protocol", "http_protocol", "value"),
    ("fast_recovery", "fast_recovery", "onoff"),
    ("enable_sni", "enable_sni", "flag"),
    ("helo_name", "helo_name", "value"),
    ("dns_type", "type", "value"),
    ("dns_name", "name", "value"),
    ("misc_path", "misc_path", "value"),
    ("misc_timeout", "misc_timeout", "value"),
    ("misc_dynamic", "misc_dynamic", "flag"),
    ("user", "user", "value"),
    ("min_reply_length", "min_reply_length", "value"),
    ("max_reply_length", "max_reply_length", "value"),
    ("track_file", "track_file", "value"),
    ("file_dynamic", "dynamic", "flag"),
)
HEX = ("payload", "require_reply")  # UDP_CHECK: keepalived's hex words, one argument each
URL = (
    ("path", "path", "value"),
    ("digest", "digest", "value"),
    ("virtualhost", "virtualhost", "value"),
)

CHECKER_CHOICES = dict(http_protocol=dict(choices=choices.HTTP_PROTOCOLS), dns_type=dict(choices=choices.DNS_TYPES))


def checker_spec():
    spec = dict(
        type=dict(type="str", required=True, choices=choices.CHECKER_TYPES),
        urls=dict(type="list", elements="dict", options=dict(
            path=dict(type="str", required=True),
            status_code=dict(type="list", elements="str"),
            digest=dict(type="str"),
            virtualhost=dict(type="str"),
        )),
    )
    kinds = dict(value="str", onoff="bool", flag="bool")
    ints = {"connect_port", "bind_port", "fwmark", "retry", "min_reply_length", "max_reply_length"}
    floats = {"connect_timeout", "delay_before_retry", "warmup", "delay_loop", "misc_timeout"}
    for option, _keyword, kind in CHECKER:
        kind_type = "int" if option in ints else "float" if option in floats else kinds[kind]
        spec[option] = dict(type=kind_type, **CHECKER_CHOICES.get(option, {}))
    spec.update(payload=dict(type="str"), require_reply=dict(type="str"),
                file_weight=dict(type="int"), file_reverse=dict(type="bool"))
    return spec


def argument_spec():
    spec = common_argument_spec()
    spec.update(
        virtual_server=dict(type="dict", required=True, options=identity_spec(), **IDENTITY_RULES),
        address=dict(type="str", required=True),
        port=dict(type="int"),
        state=dict(type="str", default="present", choices=["present", "absent", "drained"]),
        weight=dict(type="int"),
        lb_kind=dict(type="str", choices=choices.FORWARDING_METHODS),
        inhibit_on_failure=dict(type="bool"),
        uthreshold=dict(type="int"),
        lthreshold=dict(type="int"),
        notify_up=dict(type="str"),
        notify_down=dict(type="str"),
        virtualhost=dict(type="str"),
        smtp_alert=dict(type="bool"),
        connect_timeout=dict(type="float"),
        retry=dict(type="int"),
        delay_before_retry=dict(type="float"),
        warmup=dict(type="float"),
        delay_loop=dict(type="float"),
        alpha=dict(type="bool"),
        checker=dict(type="dict", options=checker_spec()),
        checkers=dict(type="list", elements="dict", options=checker_spec()),
        wait=dict(type="bool", default=False),
        drain_timeout=dict(type="float", default=300.0),
    )
    return spec


MODULE_KWARGS = dict(argument_spec=argument_spec(), supports_check_mode=True,
                     mutually_exclusive=[("checker", "checkers")])


class RealServer(ConfigObject):
    def __init__(self, module):
        super().__init__(module)
        self.service = Service(module, self.params["virtual_server"])
        self.address = _address(self.params["address"])
        base = safe_id(module, "address", self.address)
        if self.params["port"] is not None:
            base += f"_{self.params['port']}"
        self.file_id = f"real_server-{base}"

    def fragment_path(self):
        return os.path.join(self.service.real_server_dir(self.conf_d), self.file_id + ".conf")

    def weight(self):
        state = self.params["state"]
        if state == "absent":
            return None
        return 0 if state == "drained" else self.params["weight"]

    def desired(self):
        if self.params["state"] == "absent":
            return {self.fragment_path(): None}
        return {self.fragment_path(): self.render()}

    def preflight(self):
        if self.params["state"] == "absent" or os.path.exists(self.service.fragment(self.conf_d)):
            return
        msg = (f"{self.service.fragment(self.conf_d)} does not exist: without its virtual server this real server "
               "is not part of the config (create the virtual server first with hapair.keepalived.virtual_server)")
        if self.module.check_mode:
            self.module.warn(msg)
        else:
            self.module.fail_json(msg=msg, fragment=self.fragment_path())

    def result(self):
        return dict(weight=self.weight())

    def render(self):
        p = self.params
        block = Block("real_server", self.address, p["port"])
        block.add("weight", self.weight())
        apply_table(block, p, SIMPLE)
        for checker in ([p["checker"]] if p["checker"] else []) + list(p["checkers"] or []):
            check = block.block(checker["type"])
            for url in checker["urls"] or []:
                url_block = check.block("url")
                apply_table(url_block, url, URL[:1])
                if url["status_code"]:
                    url_block.add("status_code", *url["status_code"])
                apply_table(url_block, url, URL[1:])
            apply_table(check, checker, CHECKER)
            for option in HEX:
                if checker[option] is not None:
                    check.add(option, *checker[option].split())
            if checker["file_weight"] is not None:
                check.add("weight", checker["file_weight"], *(["reverse"] if checker["file_reverse"] else []))
        header = self.header + (f"Real server of {self.service.id}.conf (hapair.keepalived.real_server).",)
        return fragment_text(header, block)

    def vs_key(self):
        ident = self.params["virtual_server"]
        return control.virtual_server_key(ident.get("protocol"), _address(ident["address"]) if ident.get("address")
                                          else None, ident.get("port"), ident.get("fwmark"), ident.get("group"))

    def runtime(self, result):
        """Read the running daemon's view of this server (never change its runtime state);
        with the deprecated ``state: drained`` and ``wait``, wait until the reload gave it
        weight 0 and its connections ended."""
        result["runtime"] = None
        p = self.params
        if p["state"] == "drained":
            self.module.deprecate(DRAINED_DEPRECATION, version="1.0.0", collection_name="hapair.keepalived")
        if p["state"] == "absent" or not control.available(p["runtime_dir"]):
            return
        selector = dict(address=self.address, port=p["port"], virtual_server=self.vs_key())
        waiting = p["state"] == "drained" and p["wait"] and not self.module.check_mode
        try:
            entry = self.view(selector)
            if waiting:
                entry = self.wait_drained(selector, entry)
        except control.ControlError as exc:
            self.module.warn(f"running daemon not read through its control socket: {exc}")
            return
        result["runtime"] = runtime_facts(entry)

    def view(self, selector):
        """The daemon's view of this server, or None while the running config lacks it."""
        try:
            servers = control.request(self.params["runtime_dir"], "real-server", selector)["servers"]
        except control.ControlError as exc:
            if "no real server" in str(exc):
                return None
            raise
        return servers[0] if servers else None

    def wait_drained(self, selector, entry):
        timeout = self.params["drain_timeout"]
        end = time.monotonic() + timeout
        while entry is None or entry.get("effective_weight") != 0:  # the reload (SIGHUP) lands
            if time.monotonic() >= end:
                self.module.fail_json(msg=f"{self.address} did not get weight 0 in the running daemon within "
                                          f"drain_timeout {timeout} s (was the reload rejected?)")
            time.sleep(0.2)
            entry = self.view(selector)
        left = max(end - time.monotonic(), 0.0)
        waited = control.request(self.params["runtime_dir"], "wait-drain", dict(selector, timeout=left),
                                 timeout=left + 10)
        if not waited.get("drained"):
            self.module.fail_json(msg=f"{self.address} still has {waited.get('active')} active connection(s) "
                                      f"after drain_timeout {timeout} s")
        return self.view(selector)


DRAINED_DEPRECATION = ("real_server state=drained is a config-level drain (weight 0 in the fragment, applied by a "
                       "reload) and is deprecated: drain at runtime with hapair.keepalived.real_server_state, "
                       "which the role and the config modules never undo")


def runtime_facts(entry):
    """The daemon's view of one real server (its ``real-server`` reply), for the task result:
    real_server_state's mapping, without the names the task already gave."""
    if entry is None:
        return None
    facts = server_facts(entry)
    for named in ("virtual_server", "address", "port"):
        facts.pop(named)
    return facts
