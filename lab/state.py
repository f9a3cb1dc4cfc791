"""A lab's record in STATE_ROOT/<lab>/state.json: enough to attach to it or tear it down."""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field

from . import paths
from .shell import alive


@dataclass
class LabState:
    """What `python -m lab exec/ssh/status/down` need to know about a running lab."""

    name: str
    topology: str
    kernel: str = "host"
    owner_pid: int | None = None  # None: detached (CLI `up`), stays until `down`
    created: float = field(default_factory=time.time)
    pid1: dict[str, int] = field(default_factory=dict)  # systemd hosts' PID 1 (root pid ns)
    source: str = ""  # the topology file it was made from, if any (for `status`)

    def save(self) -> None:
        path = paths.lab_dir(self.name) / "state.json"
        paths.make_dirs(path.parent)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)

    @property
    def orphaned(self) -> bool:
        """Owned by a process that is gone: a leftover of a killed test run."""
        return self.owner_pid is not None and not alive(self.owner_pid)


def load(name: str) -> LabState | None:
    path = paths.lab_dir(name) / "state.json"
    try:
        return LabState(**json.loads(path.read_text()))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None


def known_labs() -> list[str]:
    """Labs with a state dir, a cgroup or a namespace (all three count as leftovers)."""
    names: set[str] = set()
    if paths.STATE_ROOT.is_dir():
        names |= {p.name for p in paths.STATE_ROOT.iterdir() if p.is_dir()}
    with contextlib.suppress(FileNotFoundError, RuntimeError):
        names |= {p.name for p in paths.cgroup_root().iterdir() if p.is_dir()}
    netns_dir = "/run/netns"
    if os.path.isdir(netns_dir):
        names |= {lab for n in os.listdir(netns_dir) if (lab := paths.lab_of_netns(n))}
    return sorted(names)
