"""The supervising parent's control socket: requests forwarded to a child, statuses merged.

``status`` merges both children's replies (plus ``children``: pid, restarts,
up; the reload counters are the parent's); ``reload`` is the parent's own
(core/supervisor.py); resign/unresign go to the VRRP child; every other
command (the real-server commands) to the checker child.  The children
listen on ``control.vrrp.sock`` / ``control.check.sock`` / ``control.bfd.sock`` (0600, root only).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from .. import __version__
from ..compat.aio import TIMEOUT_ERRORS
from . import client
from .children import Child, child_socket
from .control import RequestError

VRRP_COMMANDS = ("resign", "unresign")


def route(req: dict) -> tuple[str, float]:
    """The child a request goes to and how long to wait for it (a wait's own timeout + 15 s)."""
    if req["cmd"] in VRRP_COMMANDS:
        return "vrrp", 15.0
    timeout = float(req.get("timeout") or 0) + 15.0 if isinstance(req.get("timeout"), (int, float)) else 15.0
    return "check", timeout


async def ask(children: dict[str, Child], runtime_dir: Path, role: str, req: dict,
              timeout: float = 15.0) -> object:
    """One request to a child; its result, or RequestError saying why not (sent on to the client)."""
    if role not in children:
        raise RequestError(f"no {role} child: the configuration has no virtual_server")
    if not children[role].alive:
        raise RequestError(f"the {role} child is not running (restarting)")
    try:
        reply = await client.ask(child_socket(runtime_dir, role), req, timeout)
    except client.NoReply:
        raise RequestError(f"the {role} child closed the connection") from None
    except (OSError, *TIMEOUT_ERRORS) as err:
        raise RequestError(f"the {role} child does not answer: {err}") from None
    try:
        return client.result(reply)
    except client.Refused as err:
        raise RequestError(str(err)) from None


def merged_status(answers: dict[str, object], *, config_path: str, started: float, reloads: int,
                  reload_failures: int, last_reload: dict | None, children: dict[str, dict]) -> dict[str, object]:
    """One status from the children's (those that answered) and the parent's own counters."""
    answers = {r: a for r, a in answers.items() if isinstance(a, dict)}
    vrrp, check = answers.get("vrrp", {}), answers.get("check", {})
    return {"pid": os.getpid(), "version": __version__, "config": config_path, "started": started,
            "dumped": time.time(), "subsystems": list(answers),
            "reloads": reloads, "reload_failures": reload_failures,
            "last_reload": last_reload, "vrrp": vrrp.get("vrrp"), "lb": check.get("lb"),
            "bfd": answers.get("bfd", {}).get("bfd"), "children": children}
