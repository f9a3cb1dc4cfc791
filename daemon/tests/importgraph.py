"""The import graph of the pykeepalived package, read from its source (AST).

Every ``import`` counts, wherever it is: at module level, inside a function
(the lazy imports) and under ``if TYPE_CHECKING``.  Shared by test_layers.py
and vrrp/test_vrrp_purity.py.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pykeepalived

ROOT = Path(pykeepalived.__file__).parent
PACKAGE = "pykeepalived"


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    internal: dict[str, int] = field(default_factory=dict)   # pykeepalived module -> line
    external: dict[str, int] = field(default_factory=dict)   # top-level name (asyncio, ...) -> line


def _name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def build() -> dict[str, Module]:
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        name, is_package = _name(path)
        modules[name] = Module(name, path, is_package)
    for mod in modules.values():
        here = mod.name if mod.is_package else mod.name.rpartition(".")[0]
        for node in ast.walk(ast.parse(mod.path.read_text(), str(mod.path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    _add(mod, modules, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules]
                if len(subs) < len(node.names):  # some names are attributes of ``target`` itself
                    _add(mod, modules, target, node.lineno)
                for sub in subs:
                    _add(mod, modules, sub, node.lineno)
    return modules


def _add(mod: Module, modules: dict[str, Module], target: str, line: int) -> None:
    if target == PACKAGE or target.startswith(PACKAGE + "."):
        if target != mod.name:
            mod.internal.setdefault(target, line)
    else:
        mod.external.setdefault(target.split(".")[0], line)


def parents(name: str) -> list[str]:
    """The packages Python imports before ``name`` (their ``__init__`` runs first)."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def closure(modules: dict[str, Module], start: str) -> dict[str, list[str]]:
    """Every module importing ``start`` loads, each with the chain that reaches it."""
    seen: dict[str, list[str]] = {}
    todo = [(start, [start])]
    while todo:
        name, chain = todo.pop()
        if name in seen or name not in modules:
            continue
        seen[name] = chain
        for dep in [*parents(name), *modules[name].internal]:
            todo.append((dep, [*chain, dep]))
    return seen
