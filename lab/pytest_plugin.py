"""pytest fixtures for the lab.  Use from a conftest.py:

    from lab.pytest_plugin import lab, lab_factory, uml  # noqa: F401

    LAB_TOPOLOGY = "five"             # in a test module: the module's `lab` fixture

    def test_x(lab):                   # one lab per module, torn down after it
        lab.exec("web1", ["true"])

    def test_y(lab_factory):           # any number of labs, torn down at session end
        other = lab_factory("ipvs")

    def test_z(uml):                   # run something in a UML guest (kernel with IPVS)
        result = uml([sys.executable, "-m", "lab.checks.ipvs_smoke"], topology="ipvs")
        assert result.returncode == 0, result.output

Teardown runs on failures, Ctrl-C and SIGTERM (the lab turns SIGTERM into
KeyboardInterrupt, so pytest still runs fixture finalizers).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .core import Lab
from .topology import Topology, resolve
from .uml import GuestResult, run_in_uml

_counter = itertools.count(1)


def unique_name(topology: Topology | str | Path) -> str:
    """A lab name no concurrent test run uses: topology, pid and a counter."""
    stem = topology.name if isinstance(topology, Topology) else resolve(topology).stem
    return f"{stem[:12]}-{os.getpid()}-{next(_counter)}"


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (namespaces, mounts, cgroups)")


def start_lab(topology: Topology | str | Path) -> Lab:
    """A lab owned by this process (so `python -m lab down` leaves it alone while we live)."""
    _require_root()
    lab = Lab(topology, name=unique_name(topology), owner_pid=os.getpid())
    return lab.__enter__()  # tears down itself if bringing it up fails


@pytest.fixture(scope="session")
def lab_factory() -> Iterator[Callable[[Topology | str | Path], Lab]]:
    """Call with a topology (file, name in lab/topologies/ or Topology) to get a running Lab."""
    labs: list[Lab] = []

    def make(topology: Topology | str | Path) -> Lab:
        lab = start_lab(topology)
        labs.append(lab)
        return lab

    yield make
    for lab in reversed(labs):
        lab.down()


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """The test module's lab: topology from its LAB_TOPOLOGY (default "five")."""
    lab = start_lab(getattr(request.module, "LAB_TOPOLOGY", "five"))
    try:
        yield lab
    finally:
        lab.down()


@pytest.fixture(scope="session")
def uml() -> Callable[..., GuestResult]:
    """run_in_uml (see lab.uml.guest): boots a guest per call, returns its GuestResult."""
    _require_root()
    return run_in_uml
