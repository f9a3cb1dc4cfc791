"""The last good configuration, where a supervised child starts from.

The parent judges the file (at start, and off its loop at each reload,
core/reload.py) and writes what it accepted to ``RUNTIME_DIR/config.snapshot``
(0600, replaced atomically).  A child (re)started by the supervisor
and a child asked to reload read that, never the file on disk: after a
rejected reload the file holds what was refused, and a child killed then
must come back with the configuration the pair is running.

Format: the pickled tuple ``(version, head, [(digest, blob), ...])`` where
``head`` is the config without its virtual servers and each blob one
virtual server, pickled apart and named by its digest.  A process keeps the
objects it decoded last by digest (``Decoder``): a reload that changed one
virtual server unpickles that one, and hands the others over as the same
objects (lb/plane.py then skips their desired state).  A blob also holds
its file:line:col locations; a block that only moved (lines added above it)
comes from the judge's block cache as the object parsed before, with the
locations of then (config/blocks.py), so its blob is the same too.  The
judge (core/judge.py) encodes, off the parent's loop, pickling only the
objects the parent did not hand it (``blobs``); the parent writes the bytes
as they came.

The snapshot is written and read by one build of the daemon, the version is
checked anyway: a stale file from another build is refused, not guessed at.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
from pathlib import Path

from .. import __version__
from ..config.allocation import bulk_allocation
from ..config.model import Config

SNAPSHOT_NAME = "config.snapshot"
PROTOCOL = pickle.HIGHEST_PROTOCOL


class SnapshotError(Exception):
    """No usable snapshot (missing, unreadable, or from another build)."""


def snapshot_path(runtime_dir: str | Path) -> Path:
    return Path(runtime_dir) / SNAPSHOT_NAME


def _digest(blob: bytes) -> bytes:
    return hashlib.blake2b(blob, digest_size=16).digest()


class Decoder:
    """Snapshot bytes -> Config, reusing the objects of the previous decode whose blob is unchanged."""

    def __init__(self) -> None:
        self.known: dict[bytes, object] = {}  # digest -> object, of the last encode or decode only
        # digest -> blob of those objects, where this process encodes again (the parent, whose forked
        # judge encodes): an object unchanged since is not pickled again
        self.blobs: dict[bytes, bytes] = {}

    def encode(self, config: Config) -> bytes:
        with bulk_allocation():
            head = pickle.dumps(dataclasses.replace(config, virtual_servers=()), protocol=PROTOCOL)
            digest_of = {id(obj): d for d, obj in self.known.items() if d in self.blobs}
            parts = []
            for vs in config.virtual_servers:
                d = digest_of.get(id(vs))
                blob = self.blobs[d] if d is not None else pickle.dumps(vs, protocol=PROTOCOL)
                parts.append((d or _digest(blob), blob))
            # what this process holds now is what an equal blob will decode to
            self.known = {_digest(head): config, **{d: vs for (d, _), vs in zip(parts, config.virtual_servers)}}
            self.blobs = dict(parts)
            return pickle.dumps((__version__, head, parts), protocol=PROTOCOL)

    def decode(self, data: bytes, where: object = "snapshot", keep_blobs: bool = False) -> Config:
        try:
            with bulk_allocation():
                version, head, parts = pickle.loads(data)  # noqa: S301 (root's 0600 file / our own judge)
                if version != __version__:
                    raise SnapshotError(f"{where}: written by pykeepalived {version}, this is {__version__}")
                known, self.known = self.known, {}
                self.blobs = dict(parts) if keep_blobs else {}
                hd = _digest(head)
                base = known.get(hd)
                base = base if isinstance(base, Config) else pickle.loads(head)  # noqa: S301
                servers = []
                for digest, blob in parts:
                    vs = known.get(digest)
                    servers.append(vs if vs is not None else pickle.loads(blob))  # noqa: S301
                    self.known[digest] = servers[-1]
        except SnapshotError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as err:
            raise SnapshotError(f"{where}: cannot read the last good configuration: {err}") from None
        if not isinstance(base, Config):
            raise SnapshotError(f"{where}: not a configuration")
        config = dataclasses.replace(base, virtual_servers=tuple(servers))
        self.known[hd] = config
        return config


DECODER = Decoder()  # this process's: the parent's reloads, a child's start and reloads


def encode(config: Config) -> bytes:
    return DECODER.encode(config)


def decode(data: bytes, where: object = "snapshot", keep_blobs: bool = False) -> Config:
    return DECODER.decode(data, where, keep_blobs)


def save(runtime_dir: str | Path, config: Config) -> None:
    save_encoded(runtime_dir, encode(config))


def save_encoded(runtime_dir: str | Path, data: bytes) -> None:
    """Write what ``encode`` (here or in the judge) made."""
    path = snapshot_path(runtime_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def load(runtime_dir: str | Path) -> Config:
    path = snapshot_path(runtime_dir)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SnapshotError(f"{path}: cannot read the last good configuration: {err}") from None
    return decode(data, path)


def remove(runtime_dir: str | Path) -> None:
    snapshot_path(runtime_dir).unlink(missing_ok=True)
