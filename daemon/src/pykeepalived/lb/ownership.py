"""RUNTIME_DIR/lb-owned.json: the services this daemon created or adopted.

The record survives a restart, so a daemon that comes back with a smaller
config removes what it made before, and never what someone else made.
"""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path

from .table import ServiceKey

OWNED_NAME = "lb-owned.json"
_FIELDS = tuple(f.name for f in fields(ServiceKey))  # in the order of the rows below


def load_owned(runtime_dir: Path) -> set[ServiceKey]:
    try:
        data = json.loads((runtime_dir / OWNED_NAME).read_text())
        return {ServiceKey(**k) for k in data.get("services", [])}
    except (OSError, ValueError, TypeError):
        return set()  # no record (first start) or unreadable: own nothing yet


def save_owned(runtime_dir: Path, owned: set[ServiceKey]) -> None:
    runtime_dir.mkdir(parents=True, exist_ok=True)
    path = runtime_dir / OWNED_NAME
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # fields read directly, sorted by a tuple, the C encoder (no indent): asdict, the dataclass's
    # __lt__ and the indenting encoder took ~1 s for 2,000 services under load, at each change
    rows = [(k.af, k.protocol, k.addr, k.port, k.fwmark) for k in owned]
    rows.sort()
    tmp.write_text(json.dumps({"services": [dict(zip(_FIELDS, row)) for row in rows]}))
    os.replace(tmp, path)
