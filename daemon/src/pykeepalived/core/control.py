"""The control socket: ``RUNTIME_DIR/control.sock``, JSON lines, version 1.

Request (one line):  ``{"v": 1, "cmd": "status"}``
Reply (one line):    ``{"v": 1, "ok": true, "cmd": "status", "result": {...}}``
                     ``{"v": 1, "ok": false, "error": "MESSAGE"}``

Commands: ``status``, ``reload``, ``drain`` / ``undrain`` (``address``,
optional ``port``, ``virtual_server``), ``set-weight`` (``address``,
``weight`` (null clears), optional ``port``, ``virtual_server``),
``wait-drain`` (``address``, optional ``port``, ``virtual_server``,
``timeout`` seconds, default 60), ``real-server`` (one real server's runtime
view and state, lb/command.py).  Several requests may share a connection.

The socket is created mode 0600 and every peer's uid is checked with
SO_PEERCRED (root only).  A malformed request (not JSON, not an object, an
unknown command or version, a line over 64 KiB, bad arguments) gets an error
reply; nothing a client sends can stop the daemon.  The client side and the
framing are core/client.py.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path

from ..compat.aio import TIMEOUT_ERRORS
from .client import LINE_LIMIT, SOCKET_NAME, VERSION

log = logging.getLogger("pykeepalived.control")

COMMANDS = ("status", "reload", "drain", "undrain", "set-weight", "wait-drain", "real-server", "resign", "unresign")

Handler = Callable[[dict], Awaitable[object]]


class RequestError(Exception):
    """The request is wrong (the message goes back to the client)."""


def peer_uid(sock: socket.socket) -> int:
    _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                          struct.calcsize("3i")))
    return uid


def parse_request(line: bytes) -> dict:
    """One line -> a request dict with a known ``cmd``; RequestError otherwise."""
    try:
        req = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise RequestError(f"not JSON: {err}") from None
    if not isinstance(req, dict):
        raise RequestError("a request is a JSON object")
    if type(req.get("v")) is not int or req["v"] != VERSION:  # not True, not 1.0
        raise RequestError(f"unsupported protocol version {req.get('v')!r} (this daemon speaks {VERSION})")
    cmd = req.get("cmd")
    if cmd not in COMMANDS:
        raise RequestError(f"unknown command {cmd!r}; one of {', '.join(COMMANDS)}")
    return req


class ControlServer:
    def __init__(self, runtime_dir: str | Path, handler: Handler, allowed_uids: frozenset[int] = frozenset({0})):
        self.path = Path(runtime_dir) / SOCKET_NAME
        self.handler = handler
        self.allowed_uids = allowed_uids
        self.server: asyncio.AbstractServer | None = None
        self.requests = 0
        self.errors = 0
        self.refused = 0
        self._clients: set[asyncio.Task] = set()
        self._stopping = False

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)  # a stale socket of a killed daemon
        old = os.umask(0o177)  # created 0600: no window where others could connect
        try:
            self.server = await asyncio.start_unix_server(self._client, path=str(self.path), limit=LINE_LIMIT)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        log.info("control socket %s", self.path)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self._stopping = True
            for task in list(self._clients):
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)
            self.server = None
        self.path.unlink(missing_ok=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # stop() cancelled it: end normally, since Python 3.11's stream callback calls
            # task.exception() on the finished task, which raises (and logs) for a cancelled one
        except Exception:  # never let one client take the daemon down
            log.exception("control client failed")
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        uid = peer_uid(sock)
        if uid not in self.allowed_uids:
            self.refused += 1
            log.warning("control socket: refused a client with uid %d (root only)", uid)
            # let its first request arrive, so the refusal is the answer it reads (not EPIPE)
            with contextlib.suppress(*TIMEOUT_ERRORS, ValueError, ConnectionError):
                await asyncio.wait_for(reader.readline(), 1.0)
            await self._reply(writer, {"v": VERSION, "ok": False, "error": "permission denied: root only"})
            return
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as err:
                if not err.partial.strip():
                    return
                line = err.partial  # last request without a newline
            except asyncio.LimitOverrunError:
                self.errors += 1
                await self._reply(writer, {"v": VERSION, "ok": False,
                                           "error": f"request longer than {LINE_LIMIT} bytes"})
                return
            if not line.strip():
                continue
            await self._reply(writer, await self.answer(line))
            if reader.at_eof():
                return

    async def answer(self, line: bytes) -> dict:
        self.requests += 1
        try:
            req = parse_request(line)
            result = await self.handler(req)
            return {"v": VERSION, "ok": True, "cmd": req["cmd"], "result": result}
        except (RequestError, ValueError, TypeError, KeyError, LookupError) as err:
            self.errors += 1
            msg = str(err) if isinstance(err, (RequestError, ValueError, LookupError)) else f"bad request: {err}"
            return {"v": VERSION, "ok": False, "error": msg.strip("'\"") or type(err).__name__}
        except Exception as err:  # a bug: say so, log it, keep serving
            self.errors += 1
            log.exception("control request failed")
            return {"v": VERSION, "ok": False, "error": f"internal error: {type(err).__name__}: {err}"}

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, data: dict) -> None:
        writer.write(json.dumps(data, sort_keys=True, default=str).encode() + b"\n")
        await writer.drain()


def arg_str(req: dict, key: str, required: bool = True) -> str | None:
    value = req.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise RequestError(f"{key!r} must be a non-empty string")
    return value


def arg_int(req: dict, key: str, lo: int, hi: int, required: bool = False) -> int | None:
    value = req.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise RequestError(f"{key!r} must be an integer {lo}..{hi}")
    return value


def arg_float(req: dict, key: str, default: float, lo: float, hi: float) -> float:
    value = req.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise RequestError(f"{key!r} must be a number {lo:g}..{hi:g}")
    return float(value)

