"""Imports go downward only, and no two modules import each other (docs/architecture.md).

The graph comes from the source (importgraph.py): imports inside functions and
under ``TYPE_CHECKING`` count, so a lazy import cannot hide a cycle or an upward call.
"""
from __future__ import annotations

import functools

from . import importgraph


@functools.cache
def build() -> dict[str, importgraph.Module]:
    return importgraph.build()

# The pure half of vrrp/ (codec, state machine, plan); the rest of vrrp/ is the asyncio adapter.
VRRP_PURE = {"", "checksum", "events", "fsm", "from_config", "ippacket", "packet", "plan", "router_config",
             "sync", "timers", "validate"}

# layer -> the layers it may import (itself included).  Top to bottom:
#   entry > core > {vrrp adapter, check, lb} > services > {vrrp pure, config, net}
BOTTOM = {"vrrp pure", "config", "net", "version"}
ALLOWED = {
    "version": set(),
    "config": {"config"},
    "net": {"net"},
    "vrrp pure": {"vrrp pure", "config", "net"},
    "services": {"services"} | BOTTOM,
    "check": {"check", "services"} | BOTTOM,
    "lb": {"lb", "check", "services"} | BOTTOM,   # lb/loop.py runs the checkers
    "vrrp adapter": {"vrrp adapter", "services"} | BOTTOM,
    "core": {"core", "vrrp adapter", "check", "lb", "services"} | BOTTOM,
    "entry": {"entry", "core", "vrrp adapter", "check", "lb", "services"} | BOTTOM,
}
for allowed in ALLOWED.values():
    allowed |= {"version", "compat"}
ALLOWED["compat"] = set()  # compat.py: the Python 3.9-3.13 shims, for every layer; imports nothing of ours

# Known upward imports in files another change owns; each says how it goes away.
PENDING = {
    ("pykeepalived.config.keywords.global_defs", "pykeepalived.core.metrics"):
        "parse_listen lives in config/listen.py; global_defs should import it from there",
}


def layer(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return "version"  # pykeepalived/__init__.py: __version__ only
    top = parts[0]
    if top == "compat":
        return "compat"
    if top in {"cli", "ctl", "__main__"}:
        return "entry"
    if top == "bfd":  # codec and session pure; sockets, events and the BFD child's service its adapter
        return "vrrp adapter" if parts[1:2] in (["transport"], ["events"], ["service"]) else "vrrp pure"
    if top == "vrrp":
        return "vrrp pure" if (parts[1] if len(parts) > 1 else "") in VRRP_PURE else "vrrp adapter"
    if top in {"core", "check", "lb", "services", "config", "net"}:
        return top
    raise AssertionError(f"{module}: no layer; add it to test_layers.py and docs/architecture.md")


def test_every_module_has_a_layer() -> None:
    for name in build():
        assert layer(name) in ALLOWED


def test_imports_go_downward() -> None:
    wrong = []
    for mod in build().values():
        for target, line in mod.internal.items():
            if layer(target) not in ALLOWED[layer(mod.name)] and (mod.name, target) not in PENDING:
                wrong.append(f"{mod.path}:{line}: {mod.name} ({layer(mod.name)}) imports {target} "
                             f"({layer(target)})")
    assert not wrong, "upward imports:\n" + "\n".join(wrong)


def test_pending_exceptions_still_exist() -> None:
    """An exception outlives its import only by mistake: delete it from PENDING once fixed."""
    graph = build()
    for source, target in PENDING:
        assert target in graph[source].internal, f"{source} no longer imports {target}: drop it from PENDING"


def test_no_import_cycles() -> None:
    graph = {name: [t for t in mod.internal if t in build()] for name, mod in build().items()}
    cycles = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for dep in graph[name]:
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*stack[stack.index(dep):], dep]))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
