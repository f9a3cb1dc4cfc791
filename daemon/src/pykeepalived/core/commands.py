"""The control commands a daemon (or a supervised child) answers beyond status and reload.

``resign``/``unresign`` go to the VRRP manager; the real-server commands
(``drain``/``undrain``: the operator's weight 0, kept across restarts;
``set-weight``; ``wait-drain``: wait until the kernel shows no active
connection; ``real-server``: one server's state and view) go to the load
balancer.  Arguments are
checked here (RequestError says which and why).
"""
from __future__ import annotations

import logging

from ..lb.command import real_server_command
from ..lb.loop import ControlError
from .control import RequestError, arg_float, arg_int, arg_str

log = logging.getLogger("pykeepalived")


async def real_server(lb, req: dict) -> dict[str, object]:
    """``real-server`` (one server's runtime state and view, lb/command.py) and the older
    ``drain``/``undrain``/``set-weight``/``wait-drain`` on ``lb`` (an LbLoop, None under -P)."""
    cmd = req["cmd"]
    if lb is None:
        raise RequestError("load balancing is not running in this daemon (-P)")
    if cmd == "real-server":
        try:
            return await real_server_command(lb, req)
        except ControlError as err:
            raise RequestError(str(err)) from None
    addr = arg_str(req, "address")
    port = arg_int(req, "port", 0, 65535)
    vs = arg_str(req, "virtual_server", required=False)
    try:
        if cmd in ("drain", "undrain"):
            changed, message = lb.drain(addr, port, vs, drained=cmd == "drain")
            log.info("control: %s %s%s: %s", cmd, addr, f":{port}" if port else "", message)
            return {"changed": changed, "message": message}
        if cmd == "set-weight":
            if "weight" not in req:
                raise RequestError("'weight' is required (null clears the operator weight)")
            weight = arg_int(req, "weight", 0, 65535)
            changed, message = lb.set_weight(addr, weight, port, vs)
            log.info("control: set-weight %s%s: %s", addr, f":{port}" if port else "", message)
            return {"changed": changed, "message": message}
        if cmd == "wait-drain":
            timeout = arg_float(req, "timeout", 60.0, 0.0, 86400.0)
            drained, active = await lb.wait_drain(addr, port, vs, timeout)
            return {"drained": drained, "active": active}
    except ControlError as err:
        raise RequestError(str(err)) from None
    raise RequestError(f"unknown command {cmd!r}")


def resign(vrrp, req: dict, resigned: bool) -> dict[str, object]:
    """``resign``/``unresign`` on ``vrrp`` (a VrrpManager, None under -C):
    {"instances": [NAME, ...]} or none/null for all."""
    if vrrp is None:
        raise RequestError("VRRP is not running in this daemon (-C)")
    names = req.get("instances")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise RequestError("'instances' must be a list of vrrp_instance names (or null for all)")
    try:
        result = vrrp.set_resigned(names or None, resigned)
    except ValueError as err:
        raise RequestError(str(err)) from None
    log.info("control: %s: %s", "resign" if resigned else "unresign", result["message"])
    return result
