"""Checker and quorum notifications through the daemon's wiring (LbLoop): one quorum source, the plane.

A real SMTP server (aiosmtpd) receives keepalived's checker subjects; a drain
that loses quorum runs quorum_down and writes the VS line like a failed check.
"""

import asyncio
import email
import os
import textwrap

from aiosmtpd.smtp import SMTP

from pykeepalived.config.loader import loads_config
from pykeepalived.lb.loop import LbLoop
from pykeepalived.lb.memory import MemoryBackend

from .helpers import aio
from .test_health import Toggle, read_fifo, until


class Recorder:
    def __init__(self) -> None:
        self.mails: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.mails.append(email.message_from_bytes(envelope.original_content))
        return "250 OK"


def config(text: str):
    cfg, diags = loads_config(textwrap.dedent(text))
    assert not diags.items, diags.items
    return cfg


@aio
async def test_rs_and_quorum_mails_follow_per_object_smtp_alert(tmp_path):
    handler = Recorder()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(handler), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    srv, quiet = Toggle(), Toggle()
    await srv.on()
    await quiet.on()
    cfg = config(f"""
        global_defs {{
          router_id lb1
          notification_email {{
            ops@example.org
          }}
          smtp_server 127.0.0.1 {port}
          smtp_connect_timeout 2
          smtp_alert off
        }}
        virtual_server 192.0.2.10 80 {{
          protocol TCP
          delay_loop 0.05
          quorum 2
          hysteresis 0
          smtp_alert
          real_server 127.0.0.1 {srv.port} {{
            TCP_CHECK {{
              retry 0
              warmup 0
            }}
          }}
          real_server 127.0.0.1 {quiet.port} {{
            smtp_alert off
            TCP_CHECK {{
              retry 0
              warmup 0
            }}
          }}
        }}
        virtual_server 192.0.2.11 80 {{
          protocol TCP
          delay_loop 0.05
          real_server 127.0.0.1 {quiet.port} {{
            TCP_CHECK {{
              retry 0
              warmup 0
            }}
          }}
        }}
    """)
    loop = LbLoop(cfg, tmp_path / "run", MemoryBackend())
    await loop.start()
    try:
        await srv.off()
        await until(lambda: loop.lb.quorum["TCP 192.0.2.10:80"] is False)
        await quiet.off()  # smtp_alert off on the real server, global off on the second VS: no mails
        await until(lambda: loop.lb.quorum["TCP 192.0.2.11:80"] is False)
        await srv.on()
        await until(lambda: any(h.up for h in loop.health.servers.values() if h.rs.port == srv.port))
        await until(lambda: len(handler.mails) >= 3)
    finally:
        await loop.stop()
        server.close()
        await quiet.off()  # closing twice is harmless
        await srv.off()
    subjects = [m["Subject"] for m in handler.mails]
    rs = f"[127.0.0.1]:tcp:{srv.port}"
    assert subjects == [f"[lb1] Realserver {rs} of virtual server [192.0.2.10]:tcp:80 - DOWN",
                        "[lb1] Virtualserver [192.0.2.10]:tcp:80 - DOWN",
                        f"[lb1] Realserver {rs} of virtual server [192.0.2.10]:tcp:80 - UP"]
    bodies = [m.get_payload().strip() for m in handler.mails]
    assert bodies == ["=> CHECK failed on service <=", "=> Lost quorum 2+0=2 <= 1 <=",
                      "=> CHECK succeed on service <="]
    assert loop.mailer.status() == {"sent": 3, "failed": 0, "dropped": 0}


@aio
async def test_drain_that_loses_quorum_runs_quorum_down_once(tmp_path):
    fifo = tmp_path / "lvs.fifo"
    cfg = config(f"""
        global_defs {{
          lvs_notify_fifo {fifo}
        }}
        virtual_server 192.0.2.10 80 {{
          protocol TCP
          quorum 2
          quorum_up "/bin/touch {tmp_path}/qup"
          quorum_down "/bin/touch {tmp_path}/qdown"
          real_server 192.0.2.21 80 {{
            weight 1
          }}
          real_server 192.0.2.22 80 {{
            weight 1
          }}
        }}
    """)
    loop = LbLoop(cfg, tmp_path / "run", MemoryBackend())
    await loop.start()
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert loop.drain("192.0.2.21", 80) == (True, "drained")  # weight sum 1 < quorum 2
        await until(lambda: (tmp_path / "qdown").exists())
        assert not (tmp_path / "qup").exists()
        assert loop.drain("192.0.2.21", 80, drained=False) == (True, "undrained")
        await until(lambda: (tmp_path / "qup").exists())
        assert read_fifo(reader) == ["VS [192.0.2.10]:tcp:80 DOWN", "VS [192.0.2.10]:tcp:80 UP"]
    finally:
        await loop.stop()
        os.close(reader)
