"""The validated model as JSON (``pykeepalived -t --dump-json``)."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from typing import Any

from .model import Config

_SKIP = frozenset({"loc", "locs"})


def to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        out = {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.name not in _SKIP}
        if hasattr(obj, "kind") and "kind" not in out:
            out["kind"] = obj.kind
        return out
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (ipaddress.IPv4Address, ipaddress.IPv6Address,
                        ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return str(obj)
    return obj


def dumps(config: Config) -> str:
    return json.dumps(to_jsonable(config), indent=2, sort_keys=False)
