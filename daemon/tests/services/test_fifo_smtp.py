"""Notify fifo lines and smtp_alert mails (services/fifo.py, services/smtp.py) against loopback peers."""
from __future__ import annotations

import asyncio
import os
import socket
import stat
from pathlib import Path

from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import SMTP

from pykeepalived.config.model_vrrp import GlobalDefs, Script
from pykeepalived.services.fifo import Fifo, NotifyFifos, fifo_line
from pykeepalived.services.smtp import Mail, Mailer, render, vrrp_alert


def test_fifo_lines_are_keepalived_format() -> None:
    assert fifo_line("INSTANCE", "VI_1", "MASTER", 100) == 'INSTANCE "VI_1" MASTER 100\n'
    assert fifo_line("GROUP", "VG", "BACKUP", 0) == 'GROUP "VG" BACKUP 0\n'


def test_fifo_created_written_without_reader_and_never_blocks(tmp_path: Path) -> None:
    path = str(tmp_path / "vrrp.fifo")
    fifo = Fifo(path)
    assert stat.S_ISFIFO(os.stat(path).st_mode)
    fifo.write('INSTANCE "VI_1" MASTER 100\n')
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    assert os.read(reader, 100) == b'INSTANCE "VI_1" MASTER 100\n'
    line = "x" * 4000 + "\n"
    for _ in range(100):  # ~400 kB into a 64 kB pipe nobody drains: drops, no block
        fifo.write(line)
    assert fifo.dropped > 0 and fifo.written + fifo.dropped == 101
    os.close(reader)
    fifo.close()
    assert not os.path.exists(path)  # we created it, we remove it


def test_existing_fifo_is_kept_and_a_regular_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "mine"
    os.mkfifo(path)
    Fifo(str(path)).close()
    assert path.exists()
    (tmp_path / "file").write_text("")
    try:
        Fifo(str(tmp_path / "file"))
    except OSError as err:
        assert "not a fifo" in str(err)
    else:
        raise AssertionError("a regular file was accepted")


def test_fifo_script_gets_the_path_and_is_terminated(tmp_path: Path) -> None:
    out = tmp_path / "seen"
    script = tmp_path / "reader.sh"
    script.write_text(f'#!/bin/sh\necho "$1" > {out}\nexec cat "$1" >> {out}\n')
    script.chmod(0o755)
    fifo = str(tmp_path / "notify.fifo")
    fifos = NotifyFifos(GlobalDefs(notify_fifo=fifo, notify_fifo_script=Script((str(script),))))

    async def run() -> None:
        await fifos.open()
        fifos.write(fifo_line("INSTANCE", "VI_1", "BACKUP", 100))
        for _ in range(100):
            if "BACKUP" in (out.read_text() if out.exists() else ""):
                break
            await asyncio.sleep(0.02)
        await fifos.close()

    asyncio.run(run())
    assert out.read_text().splitlines() == [fifo, 'INSTANCE "VI_1" BACKUP 100']
    [proc] = fifos.scripts.started
    assert proc.returncode is not None


def test_mail_text_is_keepalived_style_and_dot_stuffed() -> None:
    mail = vrrp_alert("lb1", "INSTANCE", "VI_1", "MASTER")
    assert mail.subject == "[lb1] VRRP Instance VI_1 - Entering MASTER state"
    assert mail.body == "=> VRRP Instance is now owning VRRP VIPs <="
    assert vrrp_alert("lb1", "GROUP", "VG", "FAULT").subject == "[lb1] VRRP Group VG - Entering FAULT state"
    data = render(Mail("s", "a\n.b"), "from@example.org", ("x@example.org",), date="D")
    assert data.endswith(b"\r\na\r\n..b\r\n.\r\n") and b"To: x@example.org\r\n" in data


class Recorder(Sink):
    def __init__(self) -> None:
        self.mails: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.mails.append(envelope)
        return "250 OK"


def test_alert_reaches_a_real_smtp_server_and_failures_do_not_raise() -> None:
    handler = Recorder()

    async def run() -> tuple[Mailer, Mailer]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        g = GlobalDefs(smtp_server="127.0.0.1", smtp_port=port, notification_email=("ops@example.org",),
                       notification_email_from="lb@example.org", smtp_helo_name="lb1.example.org",
                       router_id="lb1", smtp_connect_timeout=2)
        good = Mailer(g)
        assert good.enabled(None) is False and good.enabled(True) is True  # global smtp_alert off
        good.alert("INSTANCE", "VI_1", "MASTER")
        await good.close()
        server.close()
        with socket.socket() as s:  # a port nobody listens on: connection refused, logged
            s.bind(("127.0.0.1", 0))
            dead = s.getsockname()[1]
        bad = Mailer(GlobalDefs(smtp_server="127.0.0.1", smtp_port=dead, notification_email=("a@example.org",),
                                smtp_connect_timeout=1))
        bad.alert("INSTANCE", "VI_1", "BACKUP")
        await bad.close()
        return good, bad

    good, bad = asyncio.run(run())
    assert good.status() == {"sent": 1, "failed": 0, "dropped": 0}
    assert bad.status()["failed"] == 1
    [mail] = handler.mails
    assert mail.mail_from == "lb@example.org" and mail.rcpt_tos == ["ops@example.org"]
    assert b"Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state" in mail.original_content
