"""The control socket's ``real-server`` command: one real server's runtime state.

Request: ``address``; optional ``port``, ``virtual_server`` (default: every virtual
server that has this real server), ``state`` (``enabled`` | ``drained``; absent:
as it is), ``weight`` (0..65535 operator weight; null clears; absent: as it is),
``dry_run`` (report what would change), ``wait`` (drained: until no active
connection; enabled: until the checkers say up) with ``timeout`` seconds.
Reply: ``{"changed", "servers": [view per virtual server], "waited"?}``; the
views are lb/server.py's. Arguments are checked here (lb/ cannot import core/);
a bad one is a ControlError, which the daemon returns as the error line.
"""
from __future__ import annotations

from .loop import LbLoop
from .overrides import KEEP
from .server import ControlError

STATES = ("enabled", "drained")


def _opt_int(req: dict, key: str, lo: int, hi: int) -> int | None:
    value = req.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi):
        raise ControlError(f"{key} must be an integer {lo}..{hi}")
    return value


def parse(req: dict) -> dict:
    address, vs = req.get("address"), req.get("virtual_server")
    if not isinstance(address, str) or not address:
        raise ControlError("address must be a non-empty string")
    if vs is not None and (not isinstance(vs, str) or not vs):
        raise ControlError("virtual_server must be a non-empty string (or null for every one)")
    state = req.get("state")
    if state is not None and state not in STATES:
        raise ControlError(f"state must be one of {', '.join(STATES)} (or null to leave it)")
    timeout = req.get("timeout", 60.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 <= timeout <= 86400:
        raise ControlError("timeout must be a number 0..86400")
    return {"addr": address, "port": _opt_int(req, "port", 0, 65535), "vs": vs,
            "drained": None if state is None else state == "drained",
            "weight": _opt_int(req, "weight", 0, 65535) if "weight" in req else KEEP,
            "dry_run": req.get("dry_run") is True, "wait": req.get("wait") is True, "timeout": float(timeout)}


async def real_server_command(loop: LbLoop, req: dict) -> dict[str, object]:
    a = parse(req)
    sel = (a["addr"], a["port"], a["vs"])
    changed, views = loop.real_server(*sel, drained=a["drained"], weight=a["weight"], dry_run=a["dry_run"])
    out: dict[str, object] = {"changed": changed, "servers": views}
    if a["wait"] and not a["dry_run"]:
        if a["drained"] is None:
            raise ControlError("wait needs a state (drained: until idle; enabled: until up)")
        if a["drained"]:
            done, active = await loop.wait_drain(*sel, timeout=a["timeout"])
            out["waited"] = {"done": done, "for": "idle", "active": active}
        else:
            done, views = await loop.wait_up(*sel, timeout=a["timeout"])
            out["waited"] = {"done": done, "for": "up",
                             "down": [v["virtual_server"] for v in views if not v["up"]]}
        out["servers"] = loop.server_view(*sel)
    return out
