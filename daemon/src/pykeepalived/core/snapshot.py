"""The last good configuration, where a supervised child starts from.

The parent judges the file (at start, and off its loop at each reload,
core/reload.py) and writes what it accepted to ``RUNTIME_DIR/config.snapshot``
(pickled, 0600, replaced atomically).  A child (re)started by the supervisor
and a child asked to reload read that, never the file on disk: after a
rejected reload the file holds what was refused, and a child killed then
must come back with the configuration the pair is running.

The snapshot is written and read by one build of the daemon, the version is
checked anyway: a stale file from another build is refused, not guessed at.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

from .. import __version__
from ..config.model import Config

SNAPSHOT_NAME = "config.snapshot"


class SnapshotError(Exception):
    """No usable snapshot (missing, unreadable, or from another build)."""


def snapshot_path(runtime_dir: str | Path) -> Path:
    return Path(runtime_dir) / SNAPSHOT_NAME


def save(runtime_dir: str | Path, config: Config) -> None:
    path = snapshot_path(runtime_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        pickle.dump((__version__, config), f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def load(runtime_dir: str | Path) -> Config:
    path = snapshot_path(runtime_dir)
    try:
        with path.open("rb") as f:
            version, config = pickle.load(f)  # noqa: S301 (root's 0600 file in root's runtime dir)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as err:
        raise SnapshotError(f"{path}: cannot read the last good configuration: {err}") from None
    if version != __version__ or not isinstance(config, Config):
        raise SnapshotError(f"{path}: written by pykeepalived {version}, this is {__version__}")
    return config


def remove(runtime_dir: str | Path) -> None:
    snapshot_path(runtime_dir).unlink(missing_ok=True)
