"""Integration fixtures: the multi-host lab (see docs/lab.md)."""

import sys
from pathlib import Path

# `lab` lives at the repository root, which pytest does not put on sys.path itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lab.pytest_plugin import lab, lab_factory, uml  # noqa: E402,F401
