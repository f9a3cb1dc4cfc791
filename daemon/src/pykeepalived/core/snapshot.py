"""The last good configuration, where a supervised child starts from.

The parent judges the file (at start, and off its loop at each reload,
core/reload.py) and writes what it accepted to ``RUNTIME_DIR/config.snapshot``
(0600, replaced atomically).  A child (re)started by the supervisor
and a child asked to reload read that, never the file on disk: after a
rejected reload the file holds what was refused, and a child killed then
must come back with the configuration the pair is running.

On disk: ``config.snapshot`` is the pickled tuple ``(version, head,
digests)`` where ``head`` is the config without its virtual servers and
``digests`` names each virtual server's blob (pickled apart) in
``config.blobs/DIGEST`` next to it.  A process keeps the objects it decoded
last by digest (``Decoder``): a reload that changed one virtual server reads
and unpickles that one blob, and hands the others over as the same objects
(lb/plane.py then skips their desired state).  A blob also holds its
file:line:col locations; a block that only moved (lines added above it)
comes from the judge's block cache as the object parsed before, with the
locations of then (config/blocks.py), so its blob is the same too.

The judge (core/judge.py) encodes, off the parent's loop, pickling only the
objects the parent did not hand it, and sends only the blobs the parent
does not hold (``encode(only_new=True)``: ``(version, head, digests,
{digest: blob})``); the parent writes the new blobs and the index, and
removes the blobs no index names any more.  What a reload moves through the
pipe and onto the disk, and what a child reads, follows the change; the
list of digests (16 bytes a virtual server) is the only part that grows
with the config.

The snapshot is written and read by one build of the daemon, the version is
checked anyway: a stale file from another build is refused, not guessed at.
"""
from __future__ import annotations

import dataclasses
import os
import pickle
from pathlib import Path

from .. import __version__
from ..compat import blake2b
from ..config.allocation import bulk_allocation
from ..config.model import Config

SNAPSHOT_NAME = "config.snapshot"
BLOBS_NAME = "config.blobs"
PROTOCOL = pickle.HIGHEST_PROTOCOL


class SnapshotError(Exception):
    """No usable snapshot (missing, unreadable, or from another build)."""


def snapshot_path(runtime_dir: str | Path) -> Path:
    return Path(runtime_dir) / SNAPSHOT_NAME


def _digest(blob: bytes) -> bytes:
    return blake2b(blob, digest_size=16).digest()


class Decoder:
    """Snapshot bytes -> Config, reusing the objects of the previous decode whose blob is unchanged."""

    def __init__(self) -> None:
        self.known: dict[bytes, object] = {}  # digest -> object, of the last encode or decode only
        # digest -> blob of those objects, where this process encodes again (the parent, whose forked
        # judge encodes): an object unchanged since is not pickled again
        self.blobs: dict[bytes, bytes] = {}
        self.config: Config | None = None  # the last one encoded or decoded: the running config
        # which blobs ``blobs`` holds (a digest of their list, None: none kept): a judge that answers
        # many reloads (core/reload.py) sends only new blobs to a parent whose ``held`` is its own
        self.held: bytes | None = None

    def encode(self, config: Config, only_new: bool = False) -> bytes:
        """``(version, head, digests, {digest: blob})``; ``only_new``: the blobs this process did not
        hold before (what a judge sends the parent it was forked from)."""
        with bulk_allocation():
            head = pickle.dumps(dataclasses.replace(config, virtual_servers=()), protocol=PROTOCOL)
            had = self.blobs
            digest_of = {id(obj): d for d, obj in self.known.items() if d in had}
            digests, blobs = [], {}
            for vs in config.virtual_servers:
                d = digest_of.get(id(vs))
                if d is None:
                    blob = pickle.dumps(vs, protocol=PROTOCOL)
                    d = _digest(blob)
                else:
                    blob = had[d]
                digests.append(d)
                blobs[d] = blob
            # what this process holds now is what an equal blob will decode to
            self.known = {_digest(head): config, **dict(zip(digests, config.virtual_servers))}
            self.blobs, self.config, self.held = blobs, config, _held(digests)
            sent = {d: b for d, b in blobs.items() if d not in had} if only_new else blobs
            return pickle.dumps((__version__, head, digests, sent), protocol=PROTOCOL)

    def decode(self, data: bytes, where: object = "snapshot", keep_blobs: bool = False) -> Config:
        """What ``encode`` made; a blob not in it must be one this process holds."""
        try:
            version, head, digests, sent = pickle.loads(data)  # noqa: S301 (our own judge)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as err:
            raise SnapshotError(f"{where}: cannot read the last good configuration: {err}") from None
        return self.assemble(version, head, digests, sent.get, where, keep_blobs)

    def assemble(self, version: object, head: bytes, digests: list[bytes], blob_of, where: object,
                 keep_blobs: bool = False) -> Config:
        """The config of ``head`` and the virtual servers ``digests`` name: the objects held
        already, the others unpickled from ``blob_of(digest)`` (None: this process's blob)."""
        try:
            with bulk_allocation():
                if version != __version__:
                    raise SnapshotError(f"{where}: written by pykeepalived {version}, this is {__version__}")
                known, had = self.known, self.blobs
                hd = _digest(head)
                base = known.get(hd)
                base = base if isinstance(base, Config) else pickle.loads(head)  # noqa: S301
                # set arithmetic and maps at C speed: the Python work is for the blobs not held only
                wanted = set(digests)
                fetch = (wanted - known.keys()) | ((wanted - had.keys()) if keep_blobs else set())
                objs, got = {}, {}
                for digest in fetch:
                    blob = blob_of(digest) or had.get(digest)
                    if blob is None:
                        raise SnapshotError(f"{where}: a virtual server's blob is missing")
                    got[digest] = blob
                    if digest not in known:
                        objs[digest] = pickle.loads(blob)  # noqa: S301
                servers = list(map({**known, **objs}.__getitem__, digests) if objs else map(known.__getitem__, digests))
                now = dict(zip(digests, servers))
                blobs = dict(zip(digests, map({**had, **got}.__getitem__, digests))) if keep_blobs else {}
        except SnapshotError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError,
                OSError) as err:
            raise SnapshotError(f"{where}: cannot read the last good configuration: {err}") from None
        if not isinstance(base, Config):
            raise SnapshotError(f"{where}: not a configuration")
        config = dataclasses.replace(base, virtual_servers=tuple(servers))
        now[hd] = config
        self.known, self.blobs, self.config = now, blobs, config
        self.held = _held(digests) if keep_blobs else None
        return config


def _held(digests: list[bytes]) -> bytes:
    return _digest(b"".join(digests))


DECODER = Decoder()  # this process's: the parent's reloads, a child's start and reloads


def encode(config: Config, only_new: bool = False) -> bytes:
    return DECODER.encode(config, only_new)


def decode(data: bytes, where: object = "snapshot", keep_blobs: bool = False) -> Config:
    return DECODER.decode(data, where, keep_blobs)


_ON_DISK: dict[str, set[bytes]] = {}  # per runtime dir: the blobs this process wrote there and kept


def save(runtime_dir: str | Path, config: Config) -> None:
    save_encoded(runtime_dir, encode(config))


def save_encoded(runtime_dir: str | Path, data: bytes) -> None:
    """Write what ``encode`` (here or in the judge) made: the blobs not on disk yet, then the
    index (replaced atomically), then remove the blobs it no longer names."""
    version, head, digests, sent = pickle.loads(data)  # noqa: S301 (our own judge's, decoded already)
    path = snapshot_path(runtime_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    blob_dir = path.with_name(BLOBS_NAME)
    blob_dir.mkdir(exist_ok=True, mode=0o700)
    written = _ON_DISK.get(str(path.parent))
    for digest in digests:
        if written is None or digest not in written:
            blob = sent.get(digest) or DECODER.blobs.get(digest)
            if blob is None:
                raise SnapshotError(f"{path}: a virtual server's blob is missing")
            _write(blob_dir / digest.hex(), blob)
    _write(path, pickle.dumps((version, head, digests), protocol=PROTOCOL))
    names = set(digests)
    stale = (written - names) if written is not None else \
        {bytes.fromhex(f.name) for f in os.scandir(blob_dir) if _is_digest(f.name)} - names
    for digest in stale:
        (blob_dir / digest.hex()).unlink(missing_ok=True)
    _ON_DISK[str(path.parent)] = names


def _is_digest(name: str) -> bool:
    return len(name) == 32 and all(c in "0123456789abcdef" for c in name)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def load(runtime_dir: str | Path, *, servers: bool = True) -> Config:
    """The last good config; a blob removed under us (a newer snapshot written meanwhile): read again.
    ``servers`` False: without its virtual servers, for the children that do not run them (VRRP,
    BFD): at 2,000 x 20 their blobs are most of the snapshot, and would be most of the child."""
    path = snapshot_path(runtime_dir)
    blob_dir = path.with_name(BLOBS_NAME)
    for attempt in (1, 2):
        try:
            version, head, digests = pickle.loads(path.read_bytes())  # noqa: S301 (root's 0600 file)
        except OSError as err:
            raise SnapshotError(f"{path}: cannot read the last good configuration: {err}") from None
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as err:
            raise SnapshotError(f"{path}: cannot read the last good configuration: {err}") from None
        try:
            return DECODER.assemble(version, head, digests if servers else [],
                                    lambda d: (blob_dir / d.hex()).read_bytes(), path)
        except SnapshotError:
            if attempt == 2 or version != __version__:
                raise
    raise AssertionError("not reached")


def remove(runtime_dir: str | Path) -> None:
    path = snapshot_path(runtime_dir)
    path.unlink(missing_ok=True)
    blob_dir = path.with_name(BLOBS_NAME)
    if blob_dir.is_dir():
        for f in os.scandir(blob_dir):
            os.unlink(f.path)
        blob_dir.rmdir()
    _ON_DISK.pop(str(path.parent), None)
