"""Load the golden vectors captured from keepalived (see capture_vectors.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from pykeepalived.vrrp.packet import IPAddress

VECTOR_DIR = Path(__file__).resolve().parent / "vectors"


@dataclass(frozen=True)
class Vector:
    name: str
    family: str
    ip_protocol: int
    src: IPAddress
    dst: IPAddress
    ttl: int
    payload: bytes
    ip_packet: bytes | None
    expect: dict[str, Any] | None
    expect_error: str | None

    @property
    def unicast(self) -> bool:
        return not self.dst.is_multicast


def load_vectors() -> list[Vector]:
    out = []
    for path in sorted(VECTOR_DIR.glob("*.json")):
        doc = json.loads(path.read_text())
        out.append(Vector(
            name=doc["name"], family=doc["family"], ip_protocol=doc["ip_protocol"],
            src=ip_address(doc["src"]), dst=ip_address(doc["dst"]), ttl=doc["ttl"],
            payload=bytes.fromhex(doc["payload"]),
            ip_packet=bytes.fromhex(doc["ip_packet"]) if "ip_packet" in doc else None,
            expect=doc.get("expect"), expect_error=doc.get("expect_error")))
    return out


VECTORS = load_vectors()
GOOD = [v for v in VECTORS if v.expect is not None]
BAD = [v for v in VECTORS if v.expect_error is not None]
