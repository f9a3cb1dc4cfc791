"""Files under the runtime dir: the pid file and the SIGUSR1 JSON dump.

Every runtime file lives under ``--runtime-dir`` (default /run/pykeepalived)
so several daemons can share one filesystem (ARCHITECTURE.md contracts).
Writes are atomic (temp file + rename): a reader never sees half a dump.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

DUMP_NAME = "pykeepalived.json"
PID_NAME = "pykeepalived.pid"


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class RunFiles:
    def __init__(self, runtime_dir: str, pidfile: str | None = None) -> None:
        self.dir = Path(runtime_dir)
        self.pidfile = Path(pidfile) if pidfile else self.dir / PID_NAME
        self.dump = self.dir / DUMP_NAME

    def write_pid(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o755)
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.pidfile, f"{os.getpid()}\n")

    def remove_pid(self) -> None:
        self.pidfile.unlink(missing_ok=True)

    def write_dump(self, data: dict) -> None:
        write_atomic(self.dump, json.dumps(data, indent=2, sort_keys=True) + "\n")
