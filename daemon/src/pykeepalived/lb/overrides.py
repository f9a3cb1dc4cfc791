"""The one home of a real server's runtime state: ``RUNTIME_DIR/lb-overrides.json``.

Drains and operator weights are the daemon's, not the config's: they survive
reloads and restarts, and a config-level ``weight 0`` is config, not a drain.
``OverrideStore.ov`` is the file's in-memory image (the plane reads it); every
change goes through ``restate`` + ``commit``, which write the file first.

A selector is ``(virtual_server or None, address, port or None)``; the control
socket's ``drain`` takes one as given. ``restate`` changes a list of concrete
real servers: selectors that also cover those are split into concrete entries
for the servers they keep covering, so enabling one server in one virtual
server leaves a wider drain in force everywhere else.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Optional

from ..services.runfiles import write_atomic
from .desired import Overrides, Selector

log = logging.getLogger("pykeepalived.lb")
OVERRIDES = "lb-overrides.json"
KEEP = object()  # restate(weight=KEEP): leave the operator weight as it is

Concrete = tuple[str, str, Optional[int]]  # (virtual server key, address, real server port)


def covers(sel: Selector, key: Concrete) -> bool:
    return (sel[0] is None or sel[0] == key[0]) and sel[1] == key[1] and (sel[2] is None or sel[2] == key[2])


def restate(ov: Overrides, live: Iterable[Concrete], targets: Iterable[Concrete], *,
            drained: bool | None = None, weight: object = KEEP) -> Overrides:
    """A new Overrides where ``targets`` are drained or not (None: unchanged) and carry
    operator weight ``weight`` (None clears, KEEP unchanged); every other real server keeps
    exactly the state it had."""
    live, targets = list(live), set(targets)
    out = Overrides(set(ov.drained), dict(ov.weights))
    if drained is not None:
        hit = {s for s in ov.drained if any(covers(s, t) for t in targets)}
        still = {k for k in live if k not in targets and any(covers(s, k) for s in hit)}
        out.drained = (ov.drained - hit) | still | (targets if drained else set())
    if weight is not KEEP:
        hit_w = {s: w for s, w in ov.weights.items() if any(covers(s, t) for t in targets)}
        kept = {s: w for s, w in ov.weights.items() if s not in hit_w}
        concrete: dict[Selector, int] = {}
        for k in live:  # what the split selectors gave the servers they keep covering
            if k in targets:
                continue
            matches = [(sum(x is not None for x in (s[0], s[2])), w) for s, w in ov.weights.items() if covers(s, k)]
            best = max(matches, key=lambda t: t[0]) if matches else None
            if best is not None and any(covers(s, k) for s in hit_w):
                concrete[k] = best[1]
        if weight is not None:
            concrete.update({t: weight for t in targets})
        out.weights = {**concrete, **kept}
    return out


class OverrideStore:
    def __init__(self, runtime_dir: str | Path) -> None:
        self.path = Path(runtime_dir) / OVERRIDES
        self.ov = Overrides()

    def load(self) -> None:
        try:
            data = json.loads(self.path.read_text())
            drained = {(v, a, p) for v, a, p in data.get("drained", [])}
            weights = {(v, a, p): int(w) for v, a, p, w in data.get("weights", [])}
        except FileNotFoundError:
            return
        except (ValueError, TypeError, AttributeError) as err:
            log.error("%s unreadable (%s): ignoring it", self.path, err)
            return
        self.ov.drained, self.ov.weights = drained, weights

    def commit(self, new: Overrides) -> None:
        """Write ``new`` to the file, then make it the in-memory image (same object)."""
        data = {"drained": sorted((list(s) for s in new.drained), key=json.dumps),
                "weights": sorted(([*s, w] for s, w in new.weights.items()), key=json.dumps)}
        write_atomic(self.path, json.dumps(data, sort_keys=True) + "\n")
        self.ov.drained, self.ov.weights = set(new.drained), dict(new.weights)

    def prune(self, live: Iterable[Concrete]) -> bool:
        """Drop selectors that match no configured real server; True when any went."""
        live = list(live)

        def exists(sel: Selector) -> bool:
            return any(covers(sel, k) for k in live)

        new = Overrides({s for s in self.ov.drained if exists(s)},
                        {s: w for s, w in self.ov.weights.items() if exists(s)})
        if (new.drained, new.weights) == (self.ov.drained, self.ov.weights):
            return False
        self.commit(new)
        return True

    def count(self) -> int:
        return len(self.ov.drained) + len(self.ov.weights)
