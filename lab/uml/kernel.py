"""Fetching Debian's user-mode-linux kernel into the repo's cache (never into /).

`apt-get download` + `dpkg -x` (recipes/ipvs-uml.md): the package is a 6.1
kernel with IPVS, veth, bridge and hostfs that runs as an ordinary process.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..shell import run

CACHE = Path(os.environ.get("HAPAIR_LAB_UML_CACHE", paths.REPO_ROOT / ".cache" / "uml"))


@dataclass(frozen=True)
class UmlKernel:
    binary: Path  # linux.uml
    modules: Path  # its /lib/modules/VERSION directory


def ensure_kernel(cache: Path = CACHE) -> UmlKernel:
    """The unpacked kernel, downloading it once (a lock serialises parallel test runs)."""
    cache.mkdir(parents=True, exist_ok=True)
    root = cache / "root"
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "usr/bin/linux.uml").exists():
            _download(cache, root)
    modules = sorted((root / "usr/lib/uml/modules").iterdir())[-1]
    return UmlKernel(root / "usr/bin/linux.uml", modules)


def _download(cache: Path, root: Path) -> None:
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        run(["sh", "-c", 'cd "$0" && apt-get download -q user-mode-linux', tmp], timeout=600)
        deb = next(Path(tmp).glob("user-mode-linux_*.deb"))
        run(["dpkg", "-x", str(deb), f"{tmp}/root"], timeout=600)
        shutil.rmtree(root, ignore_errors=True)
        os.rename(f"{tmp}/root", root)
