"""The control socket's client side and its framing: one JSON line each way.

Request:  ``{"v": 1, "cmd": ..., ...}\\n``; reply: one JSON object on one line,
``{"v": 1, "ok": true, "cmd": ..., "result": ...}`` or ``{"v": 1, "ok": false,
"error": "MESSAGE"}`` (core/control.py serves it and lists the commands).

Used by ``pykeepalivedctl`` (``request``) and by the supervising parent,
which forwards requests to its children (``ask``).  The Ansible modules
cannot import the daemon: ``plugins/module_utils/control.py`` is a stdlib
copy of this protocol, and tests/unit/test_contracts.py keeps the two equal.
"""
from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

VERSION = 1
SOCKET_NAME = "control.sock"
LINE_LIMIT = 64 * 1024  # a request line (the server refuses longer ones)
REPLY_LIMIT = 1 << 24  # a reply line: the status of thousands of real servers


class NoReply(ConnectionError):
    """The daemon closed the connection without a reply."""


class Refused(Exception):
    """The daemon answered ``ok: false``; the message is its ``error``."""


def socket_path(runtime_dir: str | Path) -> Path:
    return Path(runtime_dir) / SOCKET_NAME


def encode(req: dict) -> bytes:
    """One request line; ``v`` is always ours."""
    return json.dumps({**req, "v": VERSION}).encode() + b"\n"


def decode(line: bytes, where: object) -> dict:
    """One reply line -> the reply object (ValueError when it is not JSON)."""
    if not line:
        raise NoReply(f"{where}: the daemon closed the connection without a reply")
    return json.loads(line)


def result(reply: dict) -> object:
    """The ``result`` of a reply; Refused when the daemon said no."""
    if not reply.get("ok"):
        raise Refused(str(reply.get("error")))
    return reply.get("result")


def request(runtime_dir: str | Path, req: dict, timeout: float = 10.0) -> dict:
    """One request, one reply (blocking): the reply object, ok or not."""
    path = socket_path(runtime_dir)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(encode(req))
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
    return decode(buf, path)


async def ask(path: str | Path, req: dict, timeout: float) -> dict:
    """``request`` on a loop, to the socket at ``path``: OSError or TimeoutError when nobody answers."""
    reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path), limit=REPLY_LIMIT), timeout)
    try:
        writer.write(encode(req))
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()
    return decode(line, path)
