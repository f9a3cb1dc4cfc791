"""Turn a block's statements into attribute values, validating each one.

For every child statement the keyword's function yields a typed value; the
keyword's voluptuous check then validates it. Problems are recorded with the
statement's location and the builder carries on, so all of them are reported.
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol

from .errors import AlreadyReported, ConfigError, Diagnostics, Location, shown
from .grammar import IGNORED, Statement


def collect(stmt: Statement, diags: Diagnostics) -> tuple[dict[str, Any], dict[str, Location]]:
    """Values and their locations for the children of a block statement."""
    values: dict[str, Any] = {}
    locs: dict[str, Location] = {}
    for child in stmt.children or ():
        kw = child.spec
        try:
            value = kw.convert(child, diags)
            if kw.check is not None:
                value = kw.check(value)
        except AlreadyReported:
            diags.broken.add((kw.attr, child.args[0].text if child.args else ""))
            continue
        except ConfigError as exc:
            if kw.block is not None and child.args:
                diags.broken.add((kw.attr, child.args[0].text))
            prefix = "" if kw.block is not None else f"{child.name}: "
            diags.error(exc.location or child.loc, prefix + exc.message)
            continue
        except vol.Invalid as exc:
            got = shown(child.args[0].text) if child.args else ""
            diags.error(child.loc, f"{child.name}: {exc.msg} (got {got})")
            continue
        if value is IGNORED:
            continue
        attr = kw.attr
        if kw.repeat:
            values.setdefault(attr, []).append(value)
            locs.setdefault(attr, child.loc)
        elif attr in values:
            first = locs[attr]
            diags.error(child.loc, f"'{child.name}' given twice in this block (first at line {first.line}); "
                        "keepalived would silently keep the last one")
        else:
            values[attr] = value
            locs[attr] = child.loc
    return values, locs


def require(stmt: Statement, values: dict[str, Any], *names: str) -> None:
    """Raise one error naming every missing required keyword of the block."""
    missing = [n for n in names if n not in values]
    present = {c.spec.attr for c in stmt.children or ()}
    if missing and all(n in present for n in missing):
        raise AlreadyReported()  # the keyword was there but its value was bad
    missing = [n for n in missing if n not in present]
    if missing:
        what = ", ".join(f"'{n}'" for n in missing)
        label = " ".join([stmt.name] + [a.text for a in stmt.args])
        raise ConfigError(f"{label}: missing required {what}", stmt.loc)
