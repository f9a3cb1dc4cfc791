"""Real local servers for checker tests (loopback only) and an asyncio runner."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import subprocess
from pathlib import Path

from pykeepalived.check.base import Target


def aio(fn):
    """Run an async test function in a fresh event loop (no pytest-asyncio needed)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))
    return wrapper


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing listens on right now (bound then released)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def target(port: int | None, host: str = "127.0.0.1", timeout: float = 1.0, **kw) -> Target:
    return Target(ip=ipaddress.ip_address(host), port=port, timeout=timeout, **kw)


class Switch:
    """A server whose behaviour a test flips at run time."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.hits = 0


async def start_http(switch: Switch, host: str = "127.0.0.1", ssl=None, body: bytes = b"hello\n",
                     status: int = 200) -> asyncio.Server:
    """A tiny HTTP/1.0 server: mode ok | status500 | stall (never answers) | close."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        switch.hits += 1
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            switch.last_request = request
            if switch.mode == "stall":
                await reader.read()  # until the client goes: 3.12.1+ Server.wait_closed() waits for it
                return
            if switch.mode == "close":
                return
            code = 500 if switch.mode == "status500" else status
            writer.write(b"HTTP/1.0 %d X\r\nContent-Length: %d\r\n\r\n%s" % (code, len(body), body))
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
    return await asyncio.start_server(handle, host, 0, ssl=ssl)


def port_of(server: asyncio.Server) -> int:
    return server.sockets[0].getsockname()[1]


def make_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate generated now with openssl (no cert is shipped)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False
