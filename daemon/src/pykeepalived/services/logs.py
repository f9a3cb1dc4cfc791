"""The daemon's log format (stderr; journald adds its own timestamp under systemd).

Its own small module: the supervising parent imports it without the VRRP
and load-balancing code (and pyroute2) it never runs.
"""
from __future__ import annotations

import logging
import sys


def setup_logging(detail: bool, tag: str | None = None) -> None:
    who = f"pykeepalived[%(process)d]{' ' + tag if tag else ''}"
    fmt = f"%(asctime)s {who}: %(levelname)s %(name)s: %(message)s" if detail \
        else f"%(asctime)s {who}: %(message)s"
    logging.basicConfig(level=logging.DEBUG if detail else logging.INFO, format=fmt, stream=sys.stderr)
    logging.getLogger("pyroute2").setLevel(logging.WARNING)
