"""Where a lab keeps its state, and how its kernel objects are named.

Every object a lab creates carries the lab's name, so two labs (say, two
engineers' test runs) never collide and `python -m lab down` can find
leftovers: state in STATE_ROOT/<lab>/, cgroups in CGROUP_ROOT/<lab>/,
network namespaces named ``hl-<lab>.<host>`` and ``hl-<lab>.switch``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

STATE_ROOT = Path(os.environ.get("HAPAIR_LAB_STATE", "/run/hapair-lab"))
NETNS_PREFIX = "hl-"
SWITCH = "switch"
LAB_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
REPO_ROOT = Path(__file__).resolve().parent.parent


def cgroup_v2_root() -> Path:
    """The cgroup2 mount: /sys/fs/cgroup on pure v2, /sys/fs/cgroup/unified on hybrid."""
    for candidate in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
        if (candidate / "cgroup.controllers").exists():
            return candidate
    raise RuntimeError("no cgroup2 hierarchy mounted (need /sys/fs/cgroup or .../unified)")


def cgroup_root() -> Path:
    """The parent cgroup of all labs."""
    return cgroup_v2_root() / "hapair-lab"


def lab_dir(lab: str) -> Path:
    return STATE_ROOT / lab


def lab_cgroup(lab: str) -> Path:
    return cgroup_root() / lab


def netns_name(lab: str, host: str) -> str:
    """Host names cannot contain '.', so 'hl-<lab>.<host>' is unambiguous."""
    return f"{NETNS_PREFIX}{lab}.{host}"


def lab_of_netns(netns: str) -> str | None:
    """The lab a namespace name belongs to, or None if it is not a lab namespace."""
    if not netns.startswith(NETNS_PREFIX) or "." not in netns:
        return None
    return netns[len(NETNS_PREFIX):].rsplit(".", 1)[0]


def make_dirs(path: Path) -> Path:
    """mkdir -p that survives another lab's teardown removing the shared parent meanwhile."""
    for _ in range(10):
        try:
            path.mkdir(parents=True, exist_ok=True)
            return path
        except FileNotFoundError:
            continue
    return path


def check_lab_name(lab: str) -> str:
    if not LAB_NAME_RE.match(lab):
        raise ValueError(f"lab name {lab!r} must match {LAB_NAME_RE.pattern}")
    return lab
