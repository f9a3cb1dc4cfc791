"""Fixtures for in-process daemon tests."""

from __future__ import annotations

import pytest

from pykeepalived.lb import loop as lbloop
from pykeepalived.lb.memory import MemoryBackend


@pytest.fixture
def memory_plane(monkeypatch):
    """Run the daemon's load balancing against an in-memory table: these tests run in
    the real machine's network namespace, whose kernel tables they must not touch."""
    monkeypatch.setattr(lbloop, "make_backend", lambda config, has_ipvs: MemoryBackend())
    monkeypatch.setattr(lbloop, "kernel_has_ipvs", lambda: False)
    monkeypatch.setattr(lbloop, "backend_problems", lambda config: [])
