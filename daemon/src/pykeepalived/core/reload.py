"""Reload as a diff (SIGHUP, ``pykeepalivedctl reload``).

1. ``load_new(path)``: parse and validate; any error -> the errors (each
   ``FILE:LINE:COL: error: ...``) and no config: the caller keeps running the
   old one untouched.
2. Each subsystem applies the new config as a diff of the running one:
   ``vrrp.manager.VrrpManager.apply`` (the plan is ``vrrp/plan.py``),
   ``check.health.HealthChecker.load`` (``compare()`` keeps results) and
   ``lb.plane.LoadBalancer.reload`` (see ``lb/loop.py``).
"""
from __future__ import annotations

import logging

from ..config.model import Config
from .judge import judge

log = logging.getLogger("pykeepalived.reload")


def load_new(path: str) -> tuple[Config | None, list[str]]:
    """(config, []) when valid, else (None, every error as FILE:LINE:COL: error: MESSAGE)."""
    try:
        judged = judge(path, lb_backend=True)
    except OSError as err:  # the main file vanished or is unreadable
        return None, [f"{path}: error: {err}"]
    if judged.diags.errors:
        return None, [str(d) for d in judged.diags.sorted() if d.severity == "error"]
    for line in [*map(str, judged.diags.warnings), *judged.warnings]:
        log.warning("%s", line)
    if judged.unsafe:
        return None, judged.unsafe
    return judged.config, []
