"""BFD session events between processes: the BFD child publishes, the VRRP and checker children listen.

keepalived's BFD process writes each event down a pipe to its VRRP and its
checker process.  Here the BFD child serves ``RUNTIME_DIR/bfd.events.sock``
(a Unix stream socket, 0600) and each child that tracks BFD connects to it.
An event is what keepalived sends (bfd_scheduler.c): a session comes Up, or
falls from Up.  Each is one JSON line, ``{"name": N, "up": B, "sent": T}``.

A listener that connects first reads the session table,
``{"table": {N: [up, event]}}``: each session's state and its latest event
(null while it has never been Up).  So a child started later, or a listener
whose BFD child was restarted, starts from what is true now.  A listener whose
connection drops keeps what it knew and reconnects every ``RECONNECT`` s; the
new table then replaces it, and a session it saw Up that the table says is not
counts as a fall.

``BfdView`` is the listeners' side of the state, pure of I/O: the VRRP child's
``track_bfd`` asks ``up()``/``listen()``, BFD_CHECK (check/bfd.py) waits on
``event()``/``changed()``.  The in-process runner (bfd/transport.py) keeps
one too, so an unsupervised ``-P`` or ``-C`` daemon runs its own sessions.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("pykeepalived.bfd")

SOCKET_NAME = "bfd.events.sock"
RECONNECT = 0.2  # s between connection attempts while the BFD child is (re)starting
BACKLOG_LIMIT = 1 << 20  # bytes queued to a listener that reads nothing: it is dropped (it reconnects)

Table = dict[str, tuple[bool, "bool | None"]]


def socket_path(runtime_dir: str | Path) -> Path:
    return Path(runtime_dir) / SOCKET_NAME


class BfdView:
    """Sessions by name: Up or not, and the latest event (True: came Up, False: fell, None: none yet)."""

    def __init__(self) -> None:
        self.states: dict[str, bool] = {}
        self.events: dict[str, bool] = {}
        self.listeners: dict[str, list[Callable[[bool], None]]] = collections.defaultdict(list)
        self._waiters: dict[str, list[asyncio.Future]] = collections.defaultdict(list)
        self.received = 0

    # -- what VRRP asks (track_bfd) ------------------------------------------
    def up(self, name: str) -> bool:
        return self.states.get(name, False)

    def listen(self, name: str, callback: Callable[[bool], None]) -> Callable[[], None]:
        self.listeners[name].append(callback)
        return lambda: self.listeners[name].remove(callback) if callback in self.listeners[name] else None

    # -- what BFD_CHECK asks ------------------------------------------------
    def event(self, name: str) -> bool | None:
        return self.events.get(name)

    async def changed(self, name: str, seen: bool | None) -> bool:
        """The latest event of ``name`` once it is not ``seen`` (at once if it is not already)."""
        while (now := self.events.get(name)) is None or now == seen:
            fut = asyncio.get_running_loop().create_future()
            self._waiters[name].append(fut)
            try:
                await fut
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters[name].remove(fut)
        return now

    # -- input ----------------------------------------------------------------
    def set(self, name: str, up: bool, event: bool | None) -> None:
        was = self.states.get(name, False)
        self.states[name] = up
        if event is not None:
            self.events[name] = event
            for fut in self._waiters.pop(name, ()):
                if not fut.done():
                    fut.set_result(None)
        if was != up:
            for callback in list(self.listeners.get(name, ())):
                callback(up)

    def forget(self, name: str) -> None:
        """A session that is gone: down (a fall if it was Up), then no state."""
        if self.states.get(name):
            self.set(name, False, False)
        self.states.pop(name, None)
        self.events.pop(name, None)

    def replace(self, table: Table) -> None:
        """A new table (a (re)connection): a session this view saw Up and the table does not is a fall."""
        for name in set(self.states) | set(table):
            up, event = table.get(name, (False, None))
            if self.states.get(name) and not up:
                event = False
            self.set(name, up, event)

    def table(self) -> Table:
        return {name: (up, self.events.get(name)) for name, up in self.states.items()}

    def status(self) -> dict[str, object]:
        return {"sessions": {name: {"state": "UP" if up else "DOWN",
                                    "event": None if name not in self.events else ("up" if self.events[name] else "down")}
                             for name, up in self.states.items()}}


def _line(msg: dict) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"


class EventServer:
    """In the BFD child: the table to each new listener, then every event to all of them."""

    def __init__(self, path: Path, table: Callable[[], Table]) -> None:
        self.path, self.table = path, table
        self.server: asyncio.AbstractServer | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.published = 0

    async def start(self) -> None:
        self.path.unlink(missing_ok=True)
        old = os.umask(0o077)  # 0600 from the start: no window with the default mode
        try:
            self.server = await asyncio.start_unix_server(self._serve, str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_line({"table": {n: list(v) for n, v in self.table().items()}}))
        self.writers.add(writer)
        try:
            await reader.read()  # listeners send nothing: this returns at their EOF
        except (ConnectionError, OSError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    def publish(self, name: str, up: bool) -> None:
        line = _line({"name": name, "up": up, "sent": time.time()})
        self.published += 1
        for writer in list(self.writers):
            if writer.transport.get_write_buffer_size() > BACKLOG_LIMIT:
                log.error("BFD event listener reads nothing: dropping it (it reconnects for the table)")
                self.writers.discard(writer)
                writer.transport.abort()
                continue
            writer.write(line)

    async def stop(self) -> None:
        for writer in list(self.writers):
            writer.close()
        self.writers.clear()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        self.path.unlink(missing_ok=True)

    def status(self) -> dict[str, object]:
        return {"listeners": len(self.writers), "published": self.published}


class EventClient(BfdView):
    """In the VRRP or the checker child: the BFD child's sessions, as a BfdView.

    ``apply(specs)`` (what the VRRP manager calls for its own runner) connects
    while the config has a bfd_instance and disconnects when it has none."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.task: asyncio.Task | None = None
        self.connected = False
        self.connects = 0
        self.delivery_ms: float | None = None  # the last event's age when read (BFD child -> us)

    def apply(self, specs: dict) -> None:
        if specs and self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())
        elif not specs and self.task is not None:
            self.task.cancel()
            self.task = None
            self.replace({})

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def _run(self) -> None:
        while True:
            try:
                reader, writer = await asyncio.open_unix_connection(str(self.path), limit=BACKLOG_LIMIT)
            except OSError:
                await asyncio.sleep(RECONNECT)
                continue
            self.connected, self.connects = True, self.connects + 1
            try:
                while line := await reader.readline():
                    self._read(line)
            except (OSError, ValueError) as err:
                log.warning("BFD events: %s", err)
            finally:
                self.connected = False
                writer.close()
            log.warning("BFD events: the BFD child went away; reconnecting (sessions kept as they were)")
            await asyncio.sleep(RECONNECT)

    def _read(self, line: bytes) -> None:
        msg = json.loads(line)
        if "table" in msg:
            self.replace({str(n): (bool(v[0]), v[1]) for n, v in msg["table"].items()})
            return
        self.received += 1
        self.delivery_ms = max(0.0, (time.time() - float(msg.get("sent", time.time()))) * 1000)
        up = bool(msg["up"])
        log.debug("BFD event: %s %s (delivered in %.3f ms)", msg["name"], "UP" if up else "DOWN", self.delivery_ms)
        self.set(str(msg["name"]), up, up)

    def status(self) -> dict[str, object]:
        return {**super().status(), "source": "bfd child", "connected": self.connected,
                "connects": self.connects, "events": self.received, "last_delivery_ms": self.delivery_ms}
