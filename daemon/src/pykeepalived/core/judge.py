"""One judgment of a config file, for a start and for a reload.

``judge(path)`` loads and validates it, then (only when that found no
error) asks what a runnable config also needs: scripts safe to run
(enable_script_security, services/security.py) and, with ``lb_backend``, a data
plane that can express every virtual server (core/lbloop.backend_problems).
The callers differ only in where they report: a start prints to stderr
and refuses, a reload logs and keeps the running config (core/reload.py).

Light on purpose: the supervising parent imports it, so the load balancer's
code is imported only when ``lb_backend`` asks for it.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

from ..config.errors import Diagnostics
from ..config.loader import load_config
from ..config.model import Config


@dataclass
class Judged:
    config: Config
    diags: Diagnostics
    unsafe: list[str] = field(default_factory=list)  # FILE:LINE:COL: error: lines beyond the config's own
    warnings: list[str] = field(default_factory=list)  # script warnings (FILE:LINE:COL: warning: ...)

    @property
    def refused(self) -> bool:
        return bool(self.diags.errors or self.unsafe)


def judge(path: str, *, lb_backend: bool = False) -> Judged:
    """Load ``path`` and say what keeps it from running (OSError when it cannot be read)."""
    config, diags = load_config(path)
    judged = Judged(config, diags)
    if not diags.errors:
        from ..services.security import script_problems  # noqa: PLC0415

        judged.unsafe, judged.warnings = script_problems(config)
        if lb_backend:
            from ..lb.loop import backend_problems  # noqa: PLC0415

            judged.unsafe += backend_problems(config)
    return judged


def load_for_start(path: str, *, lb_backend: bool = False) -> Config | None:
    """The config to start with, every problem printed to stderr; None when it is refused."""
    judged = judge(path, lb_backend=lb_backend)
    for diag in judged.diags.sorted():
        print(diag, file=sys.stderr)
    for line in judged.unsafe + judged.warnings:
        print(line, file=sys.stderr)
    if judged.refused:
        print(f"{path}: configuration rejected, not starting", file=sys.stderr)
        return None
    return judged.config
