"""RUNTIME_DIR/lb-owned.json: the services this daemon created or adopted.

The record survives a restart, so a daemon that comes back with a smaller
config removes what it made before, and never what someone else made.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from .table import ServiceKey

OWNED_NAME = "lb-owned.json"


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
    tmp.write_text(json.dumps({"services": [asdict(k) for k in sorted(owned)]}, indent=1))
    os.replace(tmp, path)
