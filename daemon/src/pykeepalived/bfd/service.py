"""The BFD child's work (``pykeepalived --bfd``, keepalived's BFD process): every
bfd_instance's session (bfd/transport.py) and the event socket the VRRP and the
checker children listen on (bfd/events.py).

Alone in its process, a session's timers never wait on a VRRP reload or a data
plane apply: those block other loops.
"""
from __future__ import annotations

from pathlib import Path

from .events import EventServer, socket_path
from .transport import BfdRunner


class BfdService:
    def __init__(self, runtime_dir: str | Path) -> None:
        self.runner = BfdRunner()
        self.server = EventServer(socket_path(runtime_dir), self.runner.table)
        self.runner.observers.append(self.server.publish)

    async def start(self, specs: dict) -> None:
        await self.server.start()  # listening before the first session can change
        self.runner.apply(specs)

    def reload(self, specs: dict) -> dict[str, object]:
        before = set(self.runner.peers)
        self.runner.apply(specs)
        return {"sessions_added": len(set(specs) - before), "sessions_removed": len(before - set(specs))}

    async def stop(self) -> None:
        await self.runner.stop()  # AdminDown to each peer (RFC 5880 6.8.16)
        await self.server.stop()

    def status(self) -> dict[str, object]:
        return {**self.runner.status(), "listeners": self.server.status()}
