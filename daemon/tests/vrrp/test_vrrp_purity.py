"""The architecture rule: codecs and state machines import no asyncio and no sockets.

Each pure module of vrrp/ (vrrp/__init__.py names them) is walked with everything
it imports, transitively, from the source: an import inside a function counts.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

# daemon/tests/importgraph.py (this directory is not a package, so load it by path)
_spec = importlib.util.spec_from_file_location("importgraph", Path(__file__).parent.parent / "importgraph.py")
importgraph = sys.modules.setdefault("importgraph", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(importgraph)

PURE = ["pykeepalived.vrrp", *(f"pykeepalived.vrrp.{m}" for m in (
    "events", "fsm", "from_config", "ippacket", "packet", "plan", "router_config", "sync", "timers", "validate"))]
IO = {"asyncio", "socket", "select", "selectors", "threading", "subprocess", "pyroute2"}
GRAPH = importgraph.build()


def test_the_pure_list_is_what_the_package_says() -> None:
    doc = sys.modules.get("pykeepalived.vrrp") or importlib.import_module("pykeepalived.vrrp")
    for name in PURE[1:]:
        assert f"``{name.rpartition('.')[2]}``" in doc.__doc__, f"vrrp/__init__.py does not list {name}"


@pytest.mark.parametrize("name", PURE)
def test_pure_module_reaches_no_io(name: str) -> None:
    found = []
    for mod, chain in importgraph.closure(GRAPH, name).items():
        for ext, line in GRAPH[mod].external.items():
            if ext in IO:
                found.append(f"{GRAPH[mod].path}:{line}: imports {ext} (via {' -> '.join(chain)})")
    assert not found, "\n".join(found)


PROBE = """
import sys, importlib
before = set(sys.modules)
importlib.import_module(sys.argv[1])
print(",".join(sorted(m for m in set(sys.modules) - before if m.split(".")[0] in {io})))
"""


@pytest.mark.parametrize("name", PURE)
def test_importing_pure_module_loads_no_io(name: str) -> None:
    """The same at run time, in a fresh interpreter (catches what the AST walk cannot: a
    dependency outside the package that pulls in asyncio)."""
    probe = PROBE.format(io=sorted(IO))
    out = subprocess.run([sys.executable, "-I", "-c", probe, name], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == ""
