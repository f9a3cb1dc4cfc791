# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""real_server_state: a real server's runtime state in the running daemon (drained or
enabled, runtime weight), through one ``real-server`` control request. It never writes
config: the daemon keeps the state in its runtime dir (lb-overrides.json), across reloads
and restarts, and neither the role nor the config modules undo it. Check mode asks the
daemon what would change (``dry_run``); ``wait`` is done by the daemon, which polls this
one server (idle when drained, up when enabled)."""

from __future__ import annotations

import ipaddress

from ansible_collections.hapair.keepalived.plugins.module_utils import control
from ansible_collections.hapair.keepalived.plugins.module_utils.virtual_server import (
    IDENTITY_RULES,
    _address,
    identity_spec,
)

WEIGHT_MAX = 65535

MODULE_KWARGS = dict(
    argument_spec=dict(
        address=dict(type="str", required=True),
        port=dict(type="int"),
        virtual_server=dict(type="dict", options=identity_spec(), **IDENTITY_RULES),
        state=dict(type="str", required=True, choices=["enabled", "drained"]),
        weight=dict(type="int"),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="float", default=60.0),
        runtime_dir=dict(type="path", default="/run/pykeepalived"),
    ),
    supports_check_mode=True,
)


def vs_key(ident):
    """The daemon's name of the virtual server a ``virtual_server`` option names (or None: every one)."""
    if not ident:
        return None
    address = _address(ident["address"]) if ident.get("address") else None
    return control.virtual_server_key(ident.get("protocol"), address, ident.get("port"), ident.get("fwmark"),
                                      ident.get("group"))


def bad_input(params):
    """The problem with the task's options, said in one line, or None."""
    weight = params["weight"]
    if weight is not None and not 0 <= weight <= WEIGHT_MAX:
        return f"weight {weight} is out of range: a runtime weight is 0..{WEIGHT_MAX}"
    port = params["port"]
    if port is not None and not 0 < port <= 65535:
        return f"port {port} is out of range (1..65535)"
    if params["wait_timeout"] < 0:
        return "wait_timeout must be 0 or more seconds"
    return None


def build_request(params, address, check_mode):
    req = dict(address=address, state=params["state"], dry_run=bool(check_mode))
    if params["port"] is not None:
        req["port"] = params["port"]
    key = vs_key(params["virtual_server"])
    if key is not None:
        req["virtual_server"] = key
    if params["weight"] is not None:
        req["weight"] = params["weight"]
    if params["wait"] and not check_mode:
        req.update(wait=True, timeout=params["wait_timeout"])
    return req


def server_facts(view):
    """One virtual server's entry of the daemon's view, as the task returns it."""
    return dict(
        virtual_server=view.get("virtual_server"),
        address=view.get("address"),
        port=view.get("port"),
        up=view.get("up"),
        drained=view.get("drained"),
        weight=view.get("effective_weight"),
        configured_weight=view.get("weight"),
        runtime_weight=view.get("runtime_weight"),
        active_connections=view.get("active"),
        inactive_connections=view.get("inactive"),
    )


def state_of(views):
    """What the diff shows: per virtual server, drained and runtime weight."""
    return {v["virtual_server"]: dict(drained=v["drained"], runtime_weight=v["runtime_weight"]) for v in views}


def wait_failure(address, waited, timeout):
    if not waited or waited.get("done"):
        return None
    if waited.get("for") == "idle":
        return f"{address} still has {waited.get('active')} active connection(s) after wait_timeout {timeout} s"
    return f"{address} is not up after wait_timeout {timeout} s (down in: {', '.join(waited.get('down') or [])})"


class RealServerState:
    def __init__(self, module):
        self.module = module
        self.params = module.params

    def run(self):
        p, module = self.params, self.module
        problem = bad_input(p)
        if problem:
            module.fail_json(msg=problem)
        try:
            address = str(ipaddress.ip_address(p["address"]))
        except ValueError:
            module.fail_json(msg=f"address {p['address']!r} is not an IP address")
        runtime_dir = p["runtime_dir"]
        if not control.available(runtime_dir):
            module.fail_json(msg=f"no pykeepalived daemon running: {control.socket_path(runtime_dir)} does not exist")
        req = build_request(p, address, module.check_mode)
        timeout = (p["wait_timeout"] if req.get("wait") else 0) + 15.0
        try:
            before = None
            if module._diff:
                read = {k: v for k, v in req.items() if k in ("address", "port", "virtual_server")}
                before = control.request(runtime_dir, "real-server", read)["servers"]
            reply = control.request(runtime_dir, "real-server", req, timeout=timeout)
        except control.ControlError as exc:
            module.fail_json(msg=str(exc))
        views = reply.get("servers") or []
        result = dict(changed=bool(reply.get("changed")), servers=[server_facts(v) for v in views])
        if before is not None:
            result["diff"] = dict(before=state_of(before), after=state_of(views))
        if reply.get("waited") is not None:
            result["waited"] = reply["waited"]
        failure = wait_failure(address, reply.get("waited"), p["wait_timeout"])
        if failure:
            module.fail_json(msg=failure, **result)
        module.exit_json(**result)
