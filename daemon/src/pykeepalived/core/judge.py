"""One judgment of a config file, for a start and for a reload.

``judge(path)`` loads and validates it, then (only when that found no
error) asks what a runnable config also needs: scripts safe to run
(enable_script_security, services/security.py) and, with ``lb_backend``, a data
plane that can express every virtual server (lb/loop.backend_problems).
The callers differ only in where they report: ``-t`` (cli.py) and a start
print to stderr and refuse, a reload logs and keeps the running config
(core/reload.py).

A reload is judged in a process of its own (forked by core/reload.py, or
``python -m pykeepalived.core.judge FILE``; it answers a pickled ``Verdict``,
the accepted config in it encoded as the snapshot, core/snapshot.py): a file
that takes seconds to parse must not stall a running daemon's loop, and a
judge that crashes or hangs is a rejected reload, not a dead daemon.

Light on purpose: the supervising parent imports it, so the load balancer's
code is imported only when ``lb_backend`` asks for it.
"""
from __future__ import annotations

import dataclasses
import os
import pickle
import sys
from dataclasses import dataclass, field

from ..config.errors import Diagnostics
from ..config.model import Config

# This process's unchanged blocks (config/blocks.py): a forked judge starts with the parent's.
_BLOCKS: list = []  # the parent's BlockCache, made on first use (blocks())


def blocks():
    """The parent's cache of parsed blocks (config/blocks.py), which forked judges inherit.
    Made on first use: a child that only loads snapshots never imports the parser."""
    if not _BLOCKS:
        from ..config.blocks import BlockCache  # noqa: PLC0415

        _BLOCKS.append(BlockCache())
    return _BLOCKS[0]


@dataclass
class Judged:
    config: Config
    diags: Diagnostics
    unsafe: list[str] = field(default_factory=list)  # FILE:LINE:COL: error: lines beyond the config's own
    warnings: list[str] = field(default_factory=list)  # script warnings (FILE:LINE:COL: warning: ...)

    @property
    def refused(self) -> bool:
        return bool(self.diags.errors or self.unsafe)


def judge(path: str, *, lb_backend: bool = False, declared_backend: bool = False,
          config_id: str | None = None) -> Judged:
    """Load ``path`` and say what keeps it from running (OSError when it cannot be read).

    ``lb_backend``: the data plane this host would pick (it asks the kernel for IPVS), as a
    start or reload of the checker side does.  ``declared_backend``: only what the file itself
    decides (``lb_backend nftables``), for ``-t``, which may run on another host than the
    daemon; ``auto`` is decided by the kernel at start.  ``config_id``: -i's (config/preprocess.py)."""
    judged = _judge(path, lb_backend, declared_backend, config_id, exact=False)
    if blocks().moved and (judged.diags.items or judged.unsafe or judged.warnings):
        # a problem to report, and blocks that moved carry the locations of where they were parsed
        judged = _judge(path, lb_backend, declared_backend, config_id, exact=True)
    return judged


def _judge(path: str, lb_backend: bool, declared_backend: bool, config_id: str | None, exact: bool) -> Judged:
    from ..config.loader import load_config  # noqa: PLC0415 (a child loads a snapshot, not the parser)

    config, diags = load_config(path, config_id=config_id, cache=blocks(), exact=exact)
    judged = Judged(config, diags)
    if not diags.errors:
        from ..services.security import script_problems  # noqa: PLC0415

        judged.unsafe, judged.warnings = script_problems(config)
        if lb_backend:
            from ..lb.loop import backend_problems  # noqa: PLC0415

            judged.unsafe += backend_problems(_unchecked(config))
        elif declared_backend and config.global_defs.lb_backend == "nftables":
            from ..lb.select import nftables_errors  # noqa: PLC0415

            judged.unsafe += nftables_errors(config)
    return judged


def _unchecked(config: Config) -> Config:
    """``config`` less the virtual servers the running config holds as the same objects, when
    both ask for ``lb_backend nftables``: those passed this check when they were accepted, and
    it looks at nothing but the virtual server (lb/select.py ``nftables_errors``)."""
    from .snapshot import DECODER  # noqa: PLC0415

    running = DECODER.config
    if running is None or running.global_defs.lb_backend != "nftables" or \
            config.global_defs.lb_backend != "nftables":
        return config
    held = {id(vs) for vs in running.virtual_servers}
    return dataclasses.replace(config, virtual_servers=tuple(vs for vs in config.virtual_servers
                                                             if id(vs) not in held))


@dataclass
class Verdict:
    """A judgment reduced to what a caller acts on; it crosses a process boundary (pickled)."""

    config: Config | None  # None: refused
    errors: list[str] = field(default_factory=list)  # FILE:LINE:COL: error: ... (why refused)
    warnings: list[str] = field(default_factory=list)
    snapshot: bytes | None = None  # the accepted config as core/snapshot.py encodes it (the judge's own work)
    blocks: list | None = None  # per virtual server, its cached block's key (BlockCache.keys_of), for the parent
    cuts: dict | None = None  # where each file was cut (BlockCache.cuts), for the parent's next judge


def verdict(path: str, *, lb_backend: bool = False) -> Verdict:
    """``judge`` as a ``Verdict``; an unreadable file is refused like a bad one."""
    try:
        judged = judge(path, lb_backend=lb_backend)
    except OSError as err:  # the main file vanished or is unreadable
        return Verdict(None, [f"{path}: error: {err}"])
    warnings = [*map(str, judged.diags.warnings), *judged.warnings]
    if judged.diags.errors:
        return Verdict(None, [str(d) for d in judged.diags.sorted() if d.severity == "error"], warnings)
    if judged.unsafe:
        return Verdict(None, judged.unsafe, warnings)
    return Verdict(judged.config, [], warnings, blocks=blocks().keys_of(judged.config.virtual_servers),
                   cuts=blocks().cuts())


def verdict_bytes(path: str, *, lb_backend: bool = False, parent_holds: bytes | None = b"") -> bytes:
    """What a judge process answers: the pickled Verdict, an accepted config in it as the
    snapshot's bytes: the blobs the parent does not hold and the list of digests (the parent
    writes the new blobs and the index, core/snapshot.py).

    ``parent_holds``: the parent's ``Decoder.held``; only new blobs are sent when it is this
    process's (b"": a judge forked for this one answer, which holds what its parent holds).
    An accepted config's blocks are kept here: a judge that answers the next reload too
    (core/reload.py) compares with it, as the parent does (``BlockCache.adopt``)."""
    try:
        out = verdict(path, lb_backend=lb_backend)
        if out.config is not None:
            from .snapshot import DECODER, encode  # noqa: PLC0415

            only_new = parent_holds == b"" or (parent_holds is not None and parent_holds == DECODER.held)
            out.snapshot, out.config = encode(out.config, only_new=only_new), None  # the parent holds the rest
            blocks().keep()
    except Exception as err:  # noqa: BLE001 (a bug of ours: the reload is refused and says so)
        out = Verdict(None, [f"{path}: error: the configuration could not be judged: {err!r}"])
    return pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)


def main(argv: list[str]) -> int:
    """``python -m pykeepalived.core.judge FILE [--lb-backend]``: a pickled Verdict on stdout."""
    os.nice(10)  # the daemon that asked keeps the CPU first
    sys.stdout.buffer.write(verdict_bytes(argv[0], lb_backend="--lb-backend" in argv[1:]))
    return 0


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
    blocks().keep()  # this process forks the judges of the reloads
    from .snapshot import encode  # noqa: PLC0415

    # the decoder holds the running config (a supervisor's snapshot.save finds it done): a reload's
    # verdict hands the unchanged virtual servers over as these objects; without it a standalone
    # daemon's first reload made every one anew, and its checkers and plane rebuilt them all
    encode(judged.config)
    return judged.config


def load_for_child(runtime_dir: str, *, lb_backend: bool = False) -> Config | None:
    """A supervised child's config: the parent's last good one (core/snapshot.py), never the
    file, which may hold a refused reload.  The checker child (``lb_backend``) gets the virtual
    servers and judges its data plane; the others get none (they run none)."""
    from .snapshot import SnapshotError, load  # noqa: PLC0415

    try:
        config = load(runtime_dir, servers=lb_backend)
    except SnapshotError as err:
        print(err, file=sys.stderr)
        return None
    if lb_backend:
        from ..lb.loop import backend_problems  # noqa: PLC0415

        problems = backend_problems(config)
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            print(f"{runtime_dir}: configuration rejected, not starting", file=sys.stderr)
            return None
    return config


if __name__ == "__main__":  # run as a script: pickle the module's own Verdict, not __main__'s
    from pykeepalived.core.judge import main as judge_main

    sys.exit(judge_main(sys.argv[1:]))
