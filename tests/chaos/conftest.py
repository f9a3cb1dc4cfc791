"""Chaos suite fixtures (issue 16): the integration lab and its VRRP daemon helpers.

``CHAOS_RUNS`` sets how many times each scenario repeats (``make chaos``: 20; the short
subset in ``make test``: 3). Each test prints its table and writes it to
tests/output/chaos/NAME.md; ``make chaos`` copies the tables into docs/reliability.md.
``CHAOS_KEEPALIVED=0`` leaves out the keepalived 2.2.7 measurements (reported, never asserted):
the short subset does, to stay short.
"""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# `lab` lives at the repository root; the VRRP helpers are tests/integration's package `vrrp`
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from vrrp.vrrp_hosts import KEEPALIVED  # noqa: E402

# the lab's pytest fixtures, used by name in the tests
from lab.pytest_plugin import lab, lab_factory  # noqa: E402,F401  # pylint: disable=unused-import

OUTPUT = ROOT / "tests" / "output" / "chaos"


@pytest.fixture(scope="session")
def chaos_runs() -> int:
    return int(os.environ.get("CHAOS_RUNS", "3"))


def keepalived_wanted() -> bool:
    """keepalived 2.2.7 is installed and CHAOS_KEEPALIVED is not 0 (tests that run both side by side)."""
    return Path(KEEPALIVED).exists() and os.environ.get("CHAOS_KEEPALIVED", "1") != "0"


@pytest.fixture
def with_keepalived() -> bool:
    return keepalived_wanted()


@pytest.fixture
def keepalived_measured() -> None:
    """Skips a keepalived measurement when keepalived is missing or CHAOS_KEEPALIVED=0."""
    if not Path(KEEPALIVED).exists():
        pytest.skip("keepalived 2.2.7 is not installed")
    if os.environ.get("CHAOS_KEEPALIVED", "1") == "0":
        pytest.skip("CHAOS_KEEPALIVED=0")


@pytest.fixture(scope="session")
def write_table():
    """write_table(name, markdown): print it and keep it under tests/output/chaos/."""
    def write(name: str, text: str) -> None:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        (OUTPUT / f"{name}.md").write_text(text)
        print(f"\n{text}")
    return write
