"""Root filesystems of other Debian releases for lab hosts (recipe: shared/recipes/other-roots.md).

A host whose topology says ``root: bullseye`` gets an overlay whose lower layer
is a Debian root built here with debootstrap instead of the machine's ``/``.
Roots are built once per machine into ROOTS_DIR/<release> and reused by every
checkout and CI run:

- the build runs into a temporary directory beside it and is renamed only when
  complete, so a killed build never leaves a root that looks finished (its
  leftover is removed by the next build);
- a lock file per release makes a second builder wait for the first and then
  reuse its root;
- a root whose stamp (release, packages) differs from what this code wants,
  or that has no stamp, is rebuilt.

debootstrap runs in its own mount, PID, UTS and IPC namespaces: the /proc and
/sys it mounts into the target, and anything a package script might start,
die with it; and it dies with the builder (SIGKILL on the builder's death, down
the chain builder -> unshare -> debootstrap), so a killed build stops writing.
Nothing outside ROOTS_DIR is written. Packages come from the
machine's own Debian mirror (/etc/apt/sources.list.d/debian.sources).
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from .shell import run

ROOTS_DIR = Path(os.environ.get("HAPAIR_LAB_ROOTS", "/var/cache/hapair-lab/roots"))
# Releases a topology may name, with the Python their python3 is (docs/lab.md).
RELEASES = {"bullseye": "3.9", "trixie": "3.13"}
# What a lab host runs from its own root: systemd as PID 1 (systemctl, poweroff),
# sshd (+ ssh-keygen), python3 with venv (Ansible, the daemon), ip (iproute2),
# sysctl/ps (procps), nft (nftables: the daemon's strict mode and nftables LB
# backend; its tests expect it), conntrack (a load balancer's connection counts: status,
# wait-drain). mount comes with minbase.
PACKAGES = ("systemd", "systemd-sysv", "openssh-server", "python3", "python3-venv", "iproute2", "procps",
            "nftables", "conntrack")
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
STAMP = ".hapair-root.json"
BUILD_TIMEOUT = 1800


class RootError(RuntimeError):
    """A root could not be built; the message has debootstrap's last lines."""


def check_release(release: str) -> str:
    if release not in RELEASES:
        raise ValueError(f"unknown root {release!r} (known: {', '.join(RELEASES)})")
    return release


def root_dir(release: str) -> Path:
    return ROOTS_DIR / check_release(release)


def mirror(sources: Path = SOURCES) -> str:
    """The first URIs: of the machine's deb822 Debian sources (its main archive)."""
    try:
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:") and line.split()[1:]:
                return line.split()[1]
    except FileNotFoundError:
        pass
    return DEFAULT_MIRROR


def wanted_stamp(release: str) -> dict:
    return {"release": release, "packages": list(PACKAGES)}


def is_complete(path: Path, release: str) -> bool:
    """Built by this code's recipe (its stamp matches), not a half or an older root."""
    try:
        stamp = json.loads((path / STAMP).read_text())
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return False
    return {k: stamp.get(k) for k in ("release", "packages")} == wanted_stamp(release)


def ensure_root(release: str) -> Path:
    """The finished root of release, built first if it is missing, partial or stale."""
    final = root_dir(release)
    if is_complete(final, release):
        return final
    ROOTS_DIR.mkdir(parents=True, exist_ok=True)
    with open(ROOTS_DIR / f".{release}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another builder of this release: wait, then reuse
        if is_complete(final, release):
            return final
        for leftover in ROOTS_DIR.glob(f".{release}.*"):  # killed builds, replaced roots
            if leftover.is_dir():
                _remove(leftover)
        if final.exists():
            stale = ROOTS_DIR / f".{release}.stale-{os.getpid()}"
            final.rename(stale)
            _remove(stale)
        tmp = ROOTS_DIR / f".{release}.build-{os.getpid()}"
        _build(release, tmp)
        tmp.rename(final)
    return final


def _build(release: str, target: Path) -> None:
    start = time.monotonic()
    print(f"lab: building the {release} root in {target} (debootstrap, once per machine)",
          file=sys.stderr, flush=True)
    target.mkdir(mode=0o755)
    source = mirror()
    argv = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
            "--uts", "--ipc", "debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
            release, str(target), source]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False,
                            stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
                            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise RootError(f"debootstrap {release} from {source} failed (exit {result.returncode}):\n{tail}")
    # Package caches are not needed by hosts (they never run apt); ~100 MB less per root.
    for cached in (target / "var/cache/apt/archives").glob("*.deb"):
        cached.unlink()
    stamp = wanted_stamp(release) | {"mirror": source, "seconds": round(time.monotonic() - start, 1),
                                     "built": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (target / STAMP).write_text(json.dumps(stamp, indent=1) + "\n")


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the builder dies (prctl PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def _remove(path: Path) -> None:
    """Delete a root that is not (or no longer) finished; never crosses into a mount."""
    run(["rm", "-rf", "--one-file-system", str(path)], timeout=600)
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
