"""Lab hosts on other Debian roots (lab/roots.py): Debian 11 and 13 beside the machine's 12.

Run as root: .venv/bin/pytest tests/integration/test_lab_roots.py
The first run on a machine builds the roots with debootstrap (a few minutes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import Lab, TopologyError, roots
from lab import topology as topo
from lab.paths import REPO_ROOT

LAB_TOPOLOGY = "roots"
# host -> (Debian VERSION_CODENAME, python3's major.minor): facts of each release.
EXPECTED = {"bullseye": ("bullseye", "3.9"), "bookworm": ("bookworm", "3.11"), "trixie": ("trixie", "3.13")}


def test_each_host_boots_its_own_release_with_systemd_and_sshd(lab: Lab) -> None:
    print(f"\nroots lab up in {lab.timings['up']:.2f}s: {lab.states}")
    for host, (codename, python) in EXPECTED.items():
        assert lab.states[host] in ("running", "degraded"), host
        assert lab.exec(host, ["cat", "/proc/1/comm"]).stdout.strip() == "systemd"
        # over ssh (ProxyCommand into the host's netns, the lab's key), as Ansible goes
        release = lab.ssh(host, "grep ^VERSION_CODENAME= /etc/os-release").stdout.strip()
        assert release == f"VERSION_CODENAME={codename}", host
        version = lab.ssh(host, ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        assert version.stdout.strip() == python, host
        print(f"{host}: {codename}, python {version.stdout.strip()}, systemd {lab.states[host]}")


def test_root_hosts_share_the_network_and_see_the_checkout_read_only(lab: Lab) -> None:
    for host in ("bullseye", "trixie"):
        for peer in EXPECTED:
            if peer != host:
                lab.exec(host, ["python3", "-c", f"import socket; socket.create_connection(('{peer}', 22), 5)"])
        # The checkout is bound in at its own path; the host cannot write it.
        assert lab.exec(host, ["test", "-f", str(REPO_ROOT / "daemon" / "pyproject.toml")]).returncode == 0
        probe = REPO_ROOT / ".cache" / f"roots-probe-{host}"
        denied = lab.exec(host, ["touch", str(probe)], check=False)
        assert denied.returncode != 0 and "Read-only file system" in denied.stderr, host
        assert not probe.exists()
        # Its writes stay in its overlay: the cached root is untouched.
        lab.exec(host, ["sh", "-c", "echo private > /etc/hapair-probe"])
        assert not (roots.root_dir(host) / "etc" / "hapair-probe").exists()


def test_the_cached_roots_are_complete_and_reused(lab: Lab) -> None:
    for release in roots.RELEASES:
        path = roots.root_dir(release)
        assert roots.is_complete(path, release)
        assert (path / "usr" / "bin" / f"python{roots.RELEASES[release]}").exists()
        before = path.stat().st_ino
        assert roots.ensure_root(release) == path and path.stat().st_ino == before  # no rebuild
        assert not list(roots.ROOTS_DIR.glob(f".{release}.build-*")), "a finished build left its temp dir"


def _processes_under(path: Path) -> list[int]:
    """PIDs whose command line names path (a build still running there)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(path).encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_a_killed_build_stops_and_leaves_nothing_that_looks_finished(tmp_path: Path) -> None:
    """SIGKILL a real build mid-way: debootstrap dies with it, only a temp dir is left, and the
    next build removes it."""
    if os.geteuid() != 0:
        pytest.skip("needs root (debootstrap)")
    env = dict(os.environ, HAPAIR_LAB_ROOTS=str(tmp_path))
    builder = subprocess.Popen([sys.executable, "-m", "lab", "roots", "bullseye"], env=env, cwd=REPO_ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".bullseye.build-*/debootstrap")):  # debootstrap is at work
            assert builder.poll() is None and time.monotonic() < deadline, "the build did not start"
            time.sleep(0.2)
    finally:
        builder.kill()
        builder.wait()
    deadline = time.monotonic() + 30
    while _processes_under(tmp_path):  # unshare and debootstrap die with the builder
        assert time.monotonic() < deadline, f"build processes outlived the builder: {_processes_under(tmp_path)}"
        time.sleep(0.1)
    assert not (tmp_path / "bullseye").exists()
    [partial] = tmp_path.glob(".bullseye.build-*")
    assert not roots.is_complete(partial, "bullseye")
    assert str(tmp_path) not in Path("/proc/self/mountinfo").read_text()  # its /proc, /sys died too

    # The next builder (here with a stand-in for debootstrap) removes the leftover.
    def fake_build(release: str, target: Path) -> None:
        target.mkdir()
        (target / roots.STAMP).write_text(json.dumps(roots.wanted_stamp(release)))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(roots, "ROOTS_DIR", tmp_path)
        mp.setattr(roots, "_build", fake_build)
        assert roots.ensure_root("bullseye") == tmp_path / "bullseye"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".bullseye.lock", "bullseye"]


def test_topology_root_must_be_a_known_release_on_a_systemd_host() -> None:
    nic = {"eth0": "192.0.2.1/24"}
    assert topo.parse({"hosts": {"a": {"root": "trixie", "nics": nic}}}).host("a").root == "trixie"
    assert topo.parse({"hosts": {"a": {"nics": nic}}}).host("a").root is None
    with pytest.raises(TopologyError, match="root 'jessie' is not one of bullseye, trixie"):
        topo.parse({"hosts": {"a": {"root": "jessie", "nics": nic}}})
    with pytest.raises(TopologyError, match="root needs a systemd host"):
        topo.parse({"hosts": {"a": {"root": "bullseye", "systemd": False, "nics": nic}}})
    parsed = topo.load("roots")
    assert topo.parse(parsed.to_data()).hosts == parsed.hosts
