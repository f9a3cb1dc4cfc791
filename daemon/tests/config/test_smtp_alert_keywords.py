"""smtp_alert_vrrp / smtp_alert_checker (each side's default for an unset smtp_alert, else
smtp_alert) and no_email_faults (no mail for FAULT), keepalived 2.2's; a notify_deleted
instance's mail, checked on a real SMTP server (aiosmtpd on loopback)."""
from __future__ import annotations

import asyncio

from aiosmtpd.smtp import SMTP

from pykeepalived.config.loader import loads_config
from pykeepalived.services.smtp import Mailer

from ..services.test_fifo_smtp import Recorder

MAIL = "    smtp_server 127.0.0.1\n    notification_email {\n        ops@example.org\n    }\n"


def defs(body: str):
    config, diags = loads_config("global_defs {\n" + MAIL + body + "}\n", "k.conf")
    assert not diags.errors, [str(e) for e in diags.errors]
    return config.global_defs


def mailer(g, role: str = "vrrp") -> Mailer:
    """A Mailer made inside a running loop, as the daemon makes them (Python 3.9's queue asks
    for the current loop when it is made, and an earlier test's asyncio.run() left none)."""
    async def made() -> Mailer:
        return Mailer(g, role)
    return asyncio.run(made())


def test_each_side_s_default() -> None:
    g = defs("    smtp_alert\n    smtp_alert_checker off\n")
    assert mailer(g).enabled(None) and not mailer(g, "checker").enabled(None)
    g = defs("    smtp_alert_vrrp\n")
    assert mailer(g).enabled(None) and not mailer(g, "checker").enabled(None)
    assert mailer(g, "checker").enabled(True)  # an instance's or server's own smtp_alert wins
    g = defs("    smtp_alert on\n    smtp_alert_vrrp no\n")
    assert not mailer(g).enabled(None) and mailer(g, "checker").enabled(None)


def test_no_email_faults() -> None:
    g = defs("    smtp_alert\n    no_email_faults\n")
    m = mailer(g)
    assert not m.enabled(None, "FAULT") and not m.enabled(True, "FAULT") and m.enabled(None, "BACKUP")
    assert mailer(defs("    smtp_alert\n")).enabled(None, "FAULT")


def test_bad_values_say_where() -> None:
    _, diags = loads_config("global_defs {\n    smtp_alert_checker maybe\n    no_email_faults yes\n}\n", "k.conf")
    assert sorted(str(e).split(": error: ")[0] for e in diags.errors) == ["k.conf:2:24", "k.conf:3:21"]


def test_the_deleted_mail_is_keepalived_s() -> None:
    handler = Recorder()

    async def run() -> Mailer:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", 0)
        g = defs("    smtp_connect_timeout 2\n    router_id lb1\n    smtp_alert\n")
        g.smtp_port = server.sockets[0].getsockname()[1]
        m = Mailer(g)
        m.alert("INSTANCE", "VI_1", "DELETED")
        await m.close()
        server.close()
        return m

    assert asyncio.run(run()).status()["sent"] == 1
    [mail] = handler.mails
    assert b"Subject: [lb1] VRRP Instance VI_1 - Deleted" in mail.original_content
    assert b"=> VRRP Deleted at reload <=" in mail.original_content
