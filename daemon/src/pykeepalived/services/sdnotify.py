"""systemd's notify protocol (sd_notify(3)) without a dependency.

One AF_UNIX datagram per message to ``$NOTIFY_SOCKET`` (a path, or an
abstract socket when it starts with ``@``).  Outside systemd every call is
a no-op.  ``watchdog_interval()`` reads ``$WATCHDOG_USEC`` (and
``$WATCHDOG_PID``, which must be us) and returns how often to ping: half the
timeout, as sd_watchdog_enabled(3) advises.
"""
from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("pykeepalived.sdnotify")


class SdNotify:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        addr = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + addr[1:] if addr.startswith("@") else addr
        self.sock: socket.socket | None = None
        self.last_status: str | None = None
        usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
        self.watchdog_usec = int(usec) if usec.isdigit() and (not pid or pid == str(os.getpid())) else 0
        if self.address:
            # non-blocking: a full notify queue (systemd busy or stuck) drops a message, it never
            # stalls the loop that sends VRRP adverts
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)

    @property
    def enabled(self) -> bool:
        return self.sock is not None

    def watchdog_interval(self) -> float | None:
        return self.watchdog_usec / 2e6 if self.watchdog_usec else None

    def notify(self, *fields: str) -> bool:
        if self.sock is None:
            return False
        try:
            self.sock.sendto("\n".join(fields).encode(), self.address)
            return True
        except OSError as err:
            log.debug("sd_notify failed: %s", err)
            return False

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        if text == self.last_status:
            return False
        self.last_status = text
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def reloading(self) -> bool:
        return self.notify("RELOADING=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
