"""The Debian packages the set-up installs (.ci/apt-packages) are exactly those the code needs.

tools/system_needs.py reads the code for the programs it runs; this test maps
each to its package and compares with the list tools/system-deps.sh installs.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("system_needs", REPO / "tools" / "system_needs.py")
needs = importlib.util.module_from_spec(_spec)
sys.modules["system_needs"] = needs
_spec.loader.exec_module(needs)

debian = pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs dpkg (Debian 12 is the target)")


@pytest.fixture(scope="module")
def uses() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for use in needs.uses():
        found.setdefault(use.program, []).append(use.where)
    return found


@pytest.fixture(scope="module")
def unlisted(uses: dict[str, list[str]]) -> dict[str, tuple[str, str]]:
    """Programs run but not in NEEDS that are installed here: program -> (path, owning package)."""
    paths = {p: path for p in uses if p not in needs.NEEDS and (path := needs.program_path(p))}
    owners = needs.dpkg_owners(list(paths.values()))
    return {p: (path, owners.get(path, "?")) for p, path in paths.items()}


def test_every_needs_entry_is_run_somewhere(uses: dict[str, list[str]]) -> None:
    unused = sorted(set(needs.NEEDS) - set(uses))
    assert not unused, f"tools/system_needs.py NEEDS lists programs no code runs: {unused}"


@debian
def test_every_program_run_is_in_needs_or_always_installed(unlisted: dict[str, tuple[str, str]],
                                                           uses: dict[str, list[str]]) -> None:
    fields = needs.package_fields({entry[1] for entry in unlisted.values()})
    missing = [f"{uses[p][0]}: {p} ({path}, package {pkg})" for p, (path, pkg) in sorted(unlisted.items())
               if not needs.always_installed(fields.get(pkg, {}))]
    assert not missing, ("programs from packages a fresh Debian 12 may lack; add each to NEEDS in "
                         "tools/system_needs.py and its package to .ci/apt-packages:\n" + "\n".join(missing))


def test_apt_packages_are_exactly_the_needed_ones(uses: dict[str, list[str]]) -> None:
    needed: dict[str, list[str]] = {}
    for program, package in needs.NEEDS.items():
        if program in uses:
            needed.setdefault(package, []).append(f"{program} ({uses[program][0]})")
    listed = needs.apt_packages()
    assert len(listed) == len(set(listed)), f"duplicates in .ci/apt-packages: {listed}"
    missing = {p: why for p, why in needed.items() if p not in listed}
    assert not missing, f".ci/apt-packages lacks packages the code needs: {missing}"
    unneeded = sorted(set(listed) - set(needed))
    assert not unneeded, f".ci/apt-packages lists packages no code needs: {unneeded}"


@debian
def test_needs_agrees_with_dpkg() -> None:
    """Where a program is installed, dpkg says it comes from its NEEDS package (or a direct dependency)."""
    probes = {p: path for p in needs.NEEDS if (path := needs.program_path(p))}
    owners = needs.dpkg_owners(list(probes.values()))
    fields = needs.package_fields(set(needs.NEEDS.values()))
    wrong = []
    for program, path in sorted(probes.items()):
        package = needs.NEEDS[program]
        brought = {package} | fields.get(package, {}).get("depends", set())
        if owners.get(path) not in brought:
            wrong.append(f"{program}: {path} is from {owners.get(path)}, not {package} or its dependencies")
    assert not wrong, "\n".join(wrong)
    redundant = sorted(p for p in set(needs.NEEDS.values()) if needs.always_installed(fields.get(p, {})))
    assert not redundant, f"on every Debian 12 system already (Essential/required), no entry needed: {redundant}"


# --- the scanner on small inputs --------------------------------------------------------

def test_shell_scan_finds_commands_not_data() -> None:
    script = """set -eu
for w in a b; do echo "$w"; done
X=1 ip netns exec lab-x conntrack -L | wc -l && nsenter -t 1 -a systemctl status
cat >f <<'EOF'
tcpdump -r this is data
EOF
on() { ip -br addr; }
"""
    words = [word for _where, word in needs.shell_programs(script)]
    assert words == ["set", "echo", "ip", "conntrack", "wc", "nsenter", "systemctl", "cat", "on", "ip"]


def test_python_scan_finds_argv_programs() -> None:
    source = '''
run([*prefix, "nft", "-f", "-"])
lab.exec("web1", ["ip", "route", "add", "x"])
run(["ip", "netns", "exec", ns, "sysctl", "-qw", "k=v"])
lab.ssh("lb1", "systemctl is-system-running")
proxy = f"ip netns exec {ns} nc %h %p"
if argv[:1] == ["genhash"]:
    pass
shutil.which("ipvsadm")
'''
    found = sorted({word for _where, word in needs.python_programs(source)})
    assert found == ["ip", "ipvsadm", "nc", "nft", "sysctl", "systemctl"]
