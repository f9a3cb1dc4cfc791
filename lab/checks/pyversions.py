"""The daemon's pure unit tests under each Debian release's Python (`make pyversions`).

    python -m lab.checks.pyversions [--mode check|report|skip] [--hosts HOST ...]

1. A wheelhouse of pure-Python wheels (``--platform any``: nothing compiled)
   of the daemon's dependencies (daemon/pyproject.toml), its build backend and
   the test dependencies, for every hosts' Python, downloaded once from PyPI into
   .cache/wheelhouse-py/<digest>/ (built beside it, renamed when complete). A
   requirement without pure wheels is left out and named in the table.
2. The `roots` topology up: one host per Debian root (lab/roots.py) and one
   on the machine's own. The checkout (with the wheelhouse) is bound read-only
   into the root hosts; the bookworm host sees the machine's.
3. In each host, offline: a venv from the host's python3, the test
   dependencies and the daemon (a copy of daemon/, as the checkout is
   read-only) installed with ``--no-index --find-links``, then pytest on
   TEST_PATHS. One row per host: release, Python, install, passed/failed, and
   the first errors.

--mode check (default) exits 1 unless every host passed; report prints the same
table and exits 0; skip does nothing (the Makefile's PYVERSIONS variable).
--hosts: only those of the topology's hosts (default: all; `make test` leaves out
bookworm, whose Python is the machine's, which the unit stage runs).
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from lab import Lab
from lab.paths import REPO_ROOT
from lab.pytest_plugin import unique_name

TOPOLOGY = "roots"
WHEELHOUSES = REPO_ROOT / ".cache" / "wheelhouse-py"
# What the tests import besides the daemon and the standard library.
TEST_DEPS = ("pytest", "hypothesis", "aiosmtpd")
# Tests that need neither the machine's network nor programs outside the host's
# root (keepalived, nft, tcpdump): parsing, VRRP state machines and packets, LB
# planning against a fake nft, services, the layer rules.
TEST_PATHS = ("daemon/tests/config", "daemon/tests/vrrp", "daemon/tests/lb", "daemon/tests/services",
              "daemon/tests/test_layers.py")
RECIPE = 3  # bump when the way the wheelhouse is made changes (its cache key)
VENV = "/tmp/pyversions-venv"
SRC = "/tmp/pyversions-daemon"
FIRST_ERRORS = 8


@dataclass
class Row:
    host: str
    release: str
    python: str = "?"
    install: str = "ok"
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.install == "ok" and self.counts.get("passed", 0) > 0 and not (
            self.counts.get("failed") or self.counts.get("error") or self.counts.get("errors"))


def requirements() -> list[str]:
    """The daemon's dependencies and build backend (daemon/pyproject.toml), and TEST_DEPS."""
    project = tomllib.loads((REPO_ROOT / "daemon" / "pyproject.toml").read_text())
    return [*project["project"].get("dependencies", []), *project["build-system"]["requires"], *TEST_DEPS]


def _pip_download(dest: Path, version: str, reqs: list[str], *deps: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", *deps,
            "--dest", str(dest), "--only-binary=:all:", "--platform", "any", "--implementation", "py",
            "--abi", "none", "--python-version", version, *reqs]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)


def _why(result: subprocess.CompletedProcess[str]) -> str:
    """pip's reason, best first: the dependency without a pure wheel, else its first ERROR."""
    lines = (result.stdout + result.stderr).splitlines()
    return next((line.strip() for line in lines if " depends on " in line),
                next((line for line in lines if line.startswith("ERROR:")), "pip download failed"))


def _marker_env(version: str) -> dict[str, str]:
    return {"python_version": version, "python_full_version": f"{version}.0", "implementation_name": "cpython",
            "platform_python_implementation": "CPython", "sys_platform": "linux", "platform_system": "Linux",
            "os_name": "posix", "platform_machine": "x86_64", "extra": ""}


def _unmet(dest: Path, version: str) -> list[str]:
    """Requirements of the wheels usable on version that no wheel in dest satisfies.

    pip download evaluates markers for the running Python, not --python-version
    (so 3.9's tomli, exceptiongroup are missed from 3.11): evaluated here instead.
    """
    have: dict[str, list[Version]] = {}
    metas = []
    for wheel in dest.glob("*.whl"):
        name, ver = wheel.name.split("-")[:2]
        have.setdefault(canonicalize_name(name), []).append(Version(ver))
        with zipfile.ZipFile(wheel) as z:
            meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
            metas.append(email.parser.Parser().parsestr(z.read(meta).decode()))
    unmet = []
    for meta in metas:
        if not SpecifierSet(meta.get("Requires-Python") or "").contains(f"{version}.0"):
            continue
        for text in meta.get_all("Requires-Dist") or []:
            req = Requirement(text)
            if req.marker and not req.marker.evaluate(_marker_env(version)):
                continue
            if not any(req.specifier.contains(v, prereleases=True) for v in have.get(canonicalize_name(req.name), [])):
                unmet.append(f"{req.name}{req.specifier}")
    return sorted(set(unmet))


def wheelhouse(versions: list[str]) -> tuple[Path, dict[str, str]]:
    """The wheelhouse for these Pythons, downloaded once; and {requirement: why it is missing}."""
    reqs = requirements()
    digest = hashlib.sha256(json.dumps([reqs, sorted(versions), RECIPE]).encode()).hexdigest()[:16]
    final = WHEELHOUSES / digest
    manifest = final / "manifest.json"
    if manifest.exists():
        return final, json.loads(manifest.read_text())["missing"]
    WHEELHOUSES.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{digest}.", dir=WHEELHOUSES))
    missing: dict[str, str] = {}
    for version in sorted(versions):
        if _pip_download(tmp, version, reqs).returncode != 0:
            for req in reqs:  # name the requirement(s) without pure wheels
                result = _pip_download(tmp, version, [req])
                if result.returncode != 0:
                    missing[req] = f"Python {version}: {_why(result)}"
        for _ in range(10):  # the dependencies whose markers hold on this version only
            unmet = [r for r in _unmet(tmp, version) if r not in missing]
            if not unmet or _pip_download(tmp, version, unmet, "--no-deps").returncode != 0:
                break
    (tmp / "manifest.json").write_text(json.dumps({"requirements": reqs, "versions": sorted(versions),
                                                   "missing": missing}, indent=1) + "\n")
    try:
        tmp.rename(final)
    except OSError:  # another run finished the same wheelhouse meanwhile: use that one
        shutil.rmtree(tmp, ignore_errors=True)
    return final, json.loads(manifest.read_text())["missing"]


def _sh(lab: Lab, host: str, script: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return lab.exec(host, ["sh", "-c", script], check=False, timeout=timeout,
                    env={"PYTHONDONTWRITEBYTECODE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})


def _first_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR") or "Error" in line]
    return (errors or lines or [f"exit {result.returncode}"])[0].strip()


def run_host(lab: Lab, host: str, wheels: Path) -> Row:
    """Venv, offline install and pytest inside one host."""
    row = Row(host, lab.host(host).root or "bookworm (machine)")
    row.python = _sh(lab, host, "python3 -c 'import platform; print(platform.python_version())'").stdout.strip()
    offline = f"--no-index --find-links {shlex.quote(str(wheels))}"
    daemon = shlex.quote(str(REPO_ROOT / "daemon"))
    steps = [
        ("venv", f"python3 -m venv {VENV}"),
        ("test deps", f"{VENV}/bin/pip install -q {offline} {' '.join(TEST_DEPS)}"),
        ("daemon", f"rm -rf {SRC} && mkdir {SRC} && cp -r {daemon}/pyproject.toml {daemon}/README.md "
                   f"{daemon}/src {SRC}/ && rm -rf {SRC}/src/*.egg-info && "
                   f"{VENV}/bin/pip install -q {offline} {SRC}"),
    ]
    for name, script in steps:
        result = _sh(lab, host, script)
        if result.returncode != 0:
            row.install = f"{name}: {_first_error(result)}"
            return row
    return run_tests(lab, host, row)


def run_tests(lab: Lab, host: str, row: Row) -> Row:
    """pytest on TEST_PATHS with the venv's Python; counts and first errors into row."""
    tests = " ".join(shlex.quote(str(REPO_ROOT / p)) for p in TEST_PATHS)
    result = _sh(lab, host, f"cd /tmp && {VENV}/bin/python -m pytest -q -p no:cacheprovider -rfE "
                            f"--color=no {tests}", timeout=1800)
    out = result.stdout.splitlines()
    summary = out[-1] if out else ""
    row.counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (\w+)", summary)}
    row.errors = [line for line in out if line.startswith(("FAILED ", "ERROR "))][:FIRST_ERRORS]
    if not row.counts:  # pytest stopped before running (a conftest did not import): its first error
        lines = (result.stdout + result.stderr).splitlines()
        raised = next((i for i, line in enumerate(lines) if line.startswith("E ")), None)
        row.errors = [line for line in lines[:1] if line.strip()]
        if raised is not None:
            row.errors += [line.strip() for line in lines[max(raised - 2, 1):raised + 1]]  # file, code, error
        row.errors = row.errors or [_first_error(result)]
    return row


def table(rows: list[Row], missing: dict[str, str]) -> str:
    lines = [f"{'host':10} {'release':20} {'python':8} {'passed':>6} {'failed':>6} {'errors':>6}  result",
             "-" * 72]
    for r in rows:
        errors = r.counts.get("error", 0) + r.counts.get("errors", 0)
        result = "ok" if r.ok else ("FAIL" if r.install == "ok" else f"FAIL install {r.install}")
        lines.append(f"{r.host:10} {r.release:20} {r.python:8} {r.counts.get('passed', 0):6} "
                     f"{r.counts.get('failed', 0):6} {errors:6}  {result}")
    for req, why in missing.items():
        lines.append(f"no pure-Python wheel for {req}: {why}")
    for r in rows:
        if r.errors:
            lines.append(f"\nfirst errors on {r.host} (Python {r.python}):")
            lines.extend(f"  {e}" for e in r.errors)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("check", "report", "skip"),
                        default=os.environ.get("PYVERSIONS", "check"))
    parser.add_argument("--hosts", nargs="+", metavar="HOST", help="only these hosts of the roots topology")
    args = parser.parse_args(argv)
    mode = args.mode
    if mode == "skip":
        print("pyversions: skipped (PYVERSIONS=skip)")
        return 0
    with Lab(TOPOLOGY, name=unique_name(TOPOLOGY), owner_pid=os.getpid()) as lab:
        hosts = [h.name for h in lab.topology.hosts if not args.hosts or h.name in args.hosts]
        unknown = set(args.hosts or ()) - {h.name for h in lab.topology.hosts}
        if unknown:
            print(f"pyversions: no such host in {TOPOLOGY}: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        versions = {h: _sh(lab, h, "python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'")
                    .stdout.strip() for h in hosts}
        wheels, missing = wheelhouse(sorted(set(versions.values())))
        rows = [run_host(lab, h, wheels) for h in hosts]
    print(table(rows, missing))
    if all(r.ok for r in rows):
        return 0
    if mode == "report":
        print("pyversions: failures reported only (PYVERSIONS=report)")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
