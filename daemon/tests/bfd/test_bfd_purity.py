"""The codec and the session state machine import no asyncio and no sockets (time is a parameter)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("importgraph", Path(__file__).parent.parent / "importgraph.py")
importgraph = sys.modules.setdefault("importgraph", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(importgraph)

IO = {"asyncio", "socket", "select", "selectors", "threading", "subprocess", "pyroute2"}
GRAPH = importgraph.build()


@pytest.mark.parametrize("name", ["pykeepalived.bfd.packet", "pykeepalived.bfd.session"])
def test_pure_module_reaches_no_io(name: str) -> None:
    found = [f"{GRAPH[mod].path}:{line}: imports {ext} (via {' -> '.join(chain)})"
             for mod, chain in importgraph.closure(GRAPH, name).items()
             for ext, line in GRAPH[mod].external.items() if ext in IO]
    assert not found, "\n".join(found)


def test_the_adapter_is_seen_doing_io() -> None:  # the check above would notice
    assert "socket" in GRAPH["pykeepalived.bfd.transport"].external
