"""Shared helpers for the daemon-operations tests: configs from text, a raw control client."""
from __future__ import annotations

import asyncio
import json

from pykeepalived.config.loader import loads_config
from pykeepalived.config.model import Config


def conf(text: str) -> Config:
    config, diags = loads_config(text)
    assert not diags.errors, [str(e) for e in diags.errors]
    return config


async def ask(path, *lines: bytes, read: int | None = None) -> list[dict]:
    """Send raw lines on one connection; read ``read`` replies (default: one per line)."""
    reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 20)
    try:
        for line in lines:
            writer.write(line)
        await writer.drain()
        out = []
        for _ in range(len(lines) if read is None else read):
            try:
                raw = await asyncio.wait_for(reader.readline(), 5)
            except ConnectionError:  # the server hung up on us (refused, overlong line)
                break
            if not raw:
                break
            out.append(json.loads(raw))
        return out
    finally:
        writer.close()


VS = """
virtual_server 192.0.2.80 80 {{
    lb_algo rr
    lb_kind NAT
    protocol TCP
{servers}}}
"""


def vs_conf(*servers: str) -> str:
    body = "".join(f"    real_server {s} 80 {{\n        weight 2\n    }}\n" for s in servers)
    return VS.format(servers=body)
