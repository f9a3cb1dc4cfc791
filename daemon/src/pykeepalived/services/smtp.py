"""smtp_alert: keepalived-style alert mails over plain SMTP, asyncio only (no threads).

RFC 5321 in its smallest form, as keepalived's smtp.c speaks it: read the
220 greeting, ``HELO``, ``MAIL FROM``, one ``RCPT TO`` per
``notification_email``, ``DATA`` (dot-stuffed, RFC 5321 4.5.2), ``QUIT``.
The whole exchange is bounded by ``smtp_connect_timeout``; mails go out
one at a time from a bounded queue in a background task, so a slow or dead
server never delays VRRP: failures are logged and counted.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass

from ..compat.aio import TIMEOUT_ERRORS, Queue
from ..config.model_vrrp import GlobalDefs

log = logging.getLogger("pykeepalived.core.smtp")  # the name from before services/ (log filters)

QUEUE_MAX = 64  # alerts beyond this are dropped (and counted) while the server is slow


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str


def vrrp_alert(router_id: str, kind: str, name: str, state: str) -> Mail:
    """keepalived's subject and body for an instance or group transition (vrrp_notify.c)."""
    if kind == "GROUP":
        return Mail(f"[{router_id}] VRRP Group {name} - Entering {state} state",
                    f"=> All VRRP group instances are now in {state} state <=")
    if state == "DELETED":  # notify_deleted: removed by a reload
        return Mail(f"[{router_id}] VRRP Instance {name} - Deleted", "=> VRRP Deleted at reload <=")
    owning = "now" if state == "MASTER" else "nolonger"
    return Mail(f"[{router_id}] VRRP Instance {name} - Entering {state} state",
                f"=> VRRP Instance is {owning} owning VRRP VIPs <=")


def rs_alert(router_id: str, rs: str, vs: str, up: bool) -> Mail:
    """keepalived's SMTP_MSG_RS: a real server of a virtual server went UP or DOWN (checkers)."""
    return Mail(f"[{router_id}] Realserver {rs} of virtual server {vs} - {'UP' if up else 'DOWN'}",
                f"=> CHECK {'succeed' if up else 'failed'} on service <=")


def vs_alert(router_id: str, vs: str, up: bool, quorum: int, hysteresis: int, weight_sum: int) -> Mail:
    """keepalived's SMTP_MSG_VS (check/ipwrapper.c): quorum gained or lost, with the threshold crossed."""
    threshold = quorum + (-hysteresis if up else hysteresis)
    return Mail(f"[{router_id}] Virtualserver {vs} - {'UP' if up else 'DOWN'}",
                f"=> {'Gained' if up else 'Lost'} quorum {quorum}+{hysteresis}={threshold} <= {weight_sum} <=")


def render(mail: Mail, sender: str, rcpts: tuple[str, ...], date: str | None = None) -> bytes:
    """The DATA section: headers, body, CRLF line ends, dot-stuffed, ``.`` terminator."""
    from email.utils import formatdate  # noqa: PLC0415 (the email package: 1.3 MB, only for a mail)

    head = [f"From: {sender}", f"Subject: {mail.subject}", "X-Mailer: Keepalived",
            f"To: {', '.join(rcpts)}", f"Date: {date or formatdate(localtime=True)}", ""]
    lines = head + mail.body.splitlines()
    return "".join(("." + ln if ln.startswith(".") else ln) + "\r\n" for ln in lines).encode() + b".\r\n"


class SmtpError(Exception):
    """The server answered with an unexpected code."""


async def _expect(reader: asyncio.StreamReader, code: int) -> None:
    while True:  # multi-line replies: "250-..." continues, "250 ..." ends (RFC 5321 4.2.1)
        line = await reader.readline()
        if not line:
            raise SmtpError(f"connection closed, expected {code}")
        if len(line) < 4 or line[3:4] != b"-":
            break
    if not line[:3].isdigit() or int(line[:3]) != code:
        raise SmtpError(f"expected {code}, got {line.decode(errors='replace').strip()!r}")


async def send_mail(host: str, port: int, helo: str, sender: str, rcpts: tuple[str, ...], data: bytes) -> None:
    """One SMTP transaction (the caller bounds it with a timeout)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        await _expect(reader, 220)
        for cmd, code in ((f"HELO {helo}", 250), (f"MAIL FROM:<{sender}>", 250),
                          *((f"RCPT TO:<{r}>", 250) for r in rcpts), ("DATA", 354)):
            writer.write(cmd.encode() + b"\r\n")
            await _expect(reader, code)
        writer.write(data)
        await _expect(reader, 250)
        writer.write(b"QUIT\r\n")
        await writer.drain()
    finally:
        writer.close()


class Mailer:
    """Queues alerts and sends them in one background task; never raises into VRRP."""

    def __init__(self, g: GlobalDefs, role: str = "vrrp") -> None:
        self.g = g
        # the global default of an unset smtp_alert: smtp_alert_vrrp / smtp_alert_checker, else smtp_alert
        own_default = g.smtp_alert_vrrp if role == "vrrp" else g.smtp_alert_checker
        self.default = g.smtp_alert if own_default is None else own_default
        self.router_id = g.router_id or socket.gethostname()
        self.helo = g.smtp_helo_name or socket.gethostname()
        self.sender = g.notification_email_from or f"keepalived@{socket.gethostname()}"
        self.sent = self.failed = self.dropped = 0
        self._queue: asyncio.Queue[Mail] = Queue(QUEUE_MAX)
        self._task: asyncio.Task | None = None

    @property
    def configured(self) -> bool:
        return bool(self.g.smtp_server and self.g.notification_email)

    def enabled(self, own: bool | None, state: str | None = None) -> bool:
        """Per-instance/group/server ``smtp_alert`` wins; unset inherits global_defs' for this
        role (keepalived); no mail for FAULT with ``no_email_faults``."""
        if state == "FAULT" and self.g.no_email_faults:
            return False
        return self.configured and (self.default if own is None else own)

    def alert(self, kind: str, name: str, state: str) -> None:
        self.send(vrrp_alert(self.router_id, kind, name, state))

    def send(self, mail: Mail) -> None:
        """Queue one mail (inside the event loop); a full queue drops it and counts."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        try:
            self._queue.put_nowait(mail)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _run(self) -> None:
        g = self.g
        while True:
            mail = await self._queue.get()
            data = render(mail, self.sender, g.notification_email)
            try:
                await asyncio.wait_for(send_mail(g.smtp_server, g.smtp_port, self.helo, self.sender,
                                                 g.notification_email, data), g.smtp_connect_timeout)
                self.sent += 1
                log.info("smtp alert sent: %s", mail.subject)
            except (OSError, SmtpError, *TIMEOUT_ERRORS) as err:
                self.failed += 1
                log.error("smtp alert to %s:%d failed: %s", g.smtp_server, g.smtp_port, err or "timeout")
            finally:
                self._queue.task_done()

    async def close(self, timeout: float = 2.0) -> None:
        """Give queued alerts (e.g. the last transition) a bounded moment, then stop."""
        if self._task is None:
            return
        with contextlib.suppress(*TIMEOUT_ERRORS):
            await asyncio.wait_for(self._queue.join(), timeout)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def status(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "dropped": self.dropped}
