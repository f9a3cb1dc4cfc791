"""`ansible-galaxy collection build` ships the daemon and none of the local clutter.

The collection deploys the pykeepalived daemon it bundles, so the artifact
must carry the daemon's sources; it must not carry virtualenvs, caches, test
output or build metadata (galaxy.yml `build_ignore`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

REQUIRED = ("daemon/pyproject.toml", "daemon/src/pykeepalived/__init__.py")

# The artifact's top level, exactly (galaxy.yml build_ignore keeps the project's tooling out).
TOP_LEVEL = {"COPYING", "FILES.json", "MANIFEST.json", "README.md", "changelogs", "daemon", "docs", "examples",
             "meta", "plugins", "roles"}
# What a user of the collection needs from it, beyond REQUIRED.
SHIPPED = ("daemon/README.md", "daemon/src/pykeepalived/data/pykeepalived.service", "meta/runtime.yml",
           "meta/execution-environment.yml", "meta/ee-requirements.txt", "meta/ee-bindep.txt",
           "roles/keepalived_ha/tasks/main.yml", "plugins/modules/real_server.py", "docs/modules.md")

# Directory names that must never appear anywhere in the artifact.
JUNK_DIRS = {
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".ansible",
    ".cache",
    ".ruff_cache",
    ".mypy_cache",
    ".git",
}

# Clutter planted into a scratch copy of the collection: path -> content.
PLANTED = {
    ".venv/pyvenv.cfg": "home = /usr/bin\n",
    ".venv/lib/python3.11/site-packages/junk.py": "",
    "daemon/.venv/pyvenv.cfg": "home = /usr/bin\n",
    "daemon/src/pykeepalived/__pycache__/__init__.cpython-311.pyc": "",
    "daemon/src/pykeepalived.egg-info/PKG-INFO": "Name: pykeepalived\n",
    "daemon/.hypothesis/examples/0/0": "",
    "daemon/.pytest_cache/v/cache/lastfailed": "{}\n",
    ".ansible/collections/ansible_collections/x/y/galaxy.yml": "",
    ".cache/uml/linux": "",
    ".ruff_cache/CACHEDIR.TAG": "",
    "tests/output/junit/python3.11-units.xml": "",
}


def _members(src: Path, out: Path) -> list[str]:
    """Build the collection at `src` into `out` and return the tarball's member names."""
    out.mkdir()
    env = dict(os.environ, ANSIBLE_HOME=str(out / "ansible-home"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [sys.executable, "-m", "ansible.cli.galaxy", "collection", "build", "--output-path", str(out), str(src)],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tarballs = list(out.glob("hapair-keepalived-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    with tarfile.open(tarballs[0]) as tar:
        return [name.rstrip("/") for name in tar.getnames()]


def _junk(members: list[str]) -> list[str]:
    return [
        name
        for name in members
        if JUNK_DIRS.intersection(Path(name).parts)
        or ".egg-info" in name
        or name.endswith(".pyc")
        or name.startswith("tests/output")
    ]


def test_build_of_work_tree_ships_daemon_without_clutter(tmp_path):
    members = _members(ROOT, tmp_path / "dist")

    for path in REQUIRED + SHIPPED:
        assert path in members
    assert not _junk(members)
    assert {name.split("/", 1)[0] for name in members} == TOP_LEVEL
    assert not [name for name in members if name.startswith("daemon/") and "/tests" in name]
    assert {name for name in members if name.startswith("docs/")} == {
        f"docs/{doc.name}" for doc in (ROOT / "docs").glob("*.md")}


def _requirements(text: str) -> set[str]:
    return {line.replace(" ", "") for line in text.splitlines() if line.strip() and not line.startswith("#")}


def test_execution_environment_requirements_are_the_daemons():
    """The EE's Python requirements are the daemon's build backend and dependencies."""
    ee = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    python = (ROOT / ee["dependencies"]["python"]).read_text()
    assert (ROOT / ee["dependencies"]["system"]).read_text().strip()
    project = tomllib.loads((ROOT / "daemon" / "pyproject.toml").read_text())
    wanted = set(project["project"]["dependencies"]) | set(project["build-system"]["requires"])
    assert _requirements(python) == {r.replace(" ", "") for r in wanted}


def test_build_ignore_drops_planted_clutter(tmp_path):
    src = tmp_path / "ansible_collections" / "hapair" / "keepalived"
    src.mkdir(parents=True)
    shutil.copy2(ROOT / "galaxy.yml", src / "galaxy.yml")
    for part in ("meta", "daemon"):
        shutil.copytree(ROOT / part, src / part, ignore=shutil.ignore_patterns(*JUNK_DIRS, "*.egg-info", "*.pyc"))
    for rel, content in PLANTED.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")

    members = _members(src, tmp_path / "dist")

    for path in REQUIRED:
        assert path in members
    assert not _junk(members)
