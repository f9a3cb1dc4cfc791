"""Small helpers for the lb tests: configs from text, tables as plain dicts."""

from __future__ import annotations

from pykeepalived.config.loader import loads_config
from pykeepalived.config.model import Config
from pykeepalived.lb.table import Table


def conf(text: str) -> Config:
    config, diags = loads_config(text)
    assert not diags.errors, [str(e) for e in diags.errors]
    return config


def weights(table: Table) -> dict[str, dict[str, int]]:
    """{"TCP 192.0.2.1:80": {"10.1.0.1:80": 1, ...}}: enough to read a rule at a glance."""
    return {str(k): {str(d): d.weight for d in s.dests.values()} for k, s in table.items()}
