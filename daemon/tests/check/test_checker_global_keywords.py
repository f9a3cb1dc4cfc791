"""global_defs checker_log_all_failures, rs_init_notifies and no_checker_emails (keepalived 2.2),
with real TCP checks on loopback: failures logged while UP, notify_up at start, keyword errors."""
from __future__ import annotations

import logging
import os

import pytest

from pykeepalived.check.health import HealthChecker, notifier_for
from pykeepalived.config.loader import loads_config

from .helpers import aio, free_port
from .test_health import Toggle, config, read_fifo, until


def vs_text(port: int, glob: str = "", checker: str = "", extra: str = "", tmp_path=None) -> str:
    return f"""
        global_defs {{
{glob}        }}
        virtual_server 192.0.2.10 80 {{
          protocol TCP
          delay_loop 0.1
          real_server 127.0.0.1 {port} {{
{extra}            TCP_CHECK {{
              connect_timeout 0.5
              retry 50
              delay_before_retry 0.05
{checker}            }}
          }}
        }}
    """


@pytest.mark.parametrize(("glob", "checker", "logged"), [
    ("", "", False),
    ("          checker_log_all_failures\n", "", True),
    ("", "              log_all_failures\n", True),
    ("          checker_log_all_failures off\n", "              log_all_failures on\n", True),
])
@aio
async def test_failures_while_up_are_logged_when_asked(caplog, glob: str, checker: str, logged: bool) -> None:
    port = free_port()  # nobody listens: every attempt fails, the checker stays UP for 50 retries
    hc = HealthChecker()
    caplog.set_level(logging.INFO, logger="pykeepalived.check.health")
    hc.load(config(vs_text(port, glob, checker)))
    try:
        job = next(iter(hc.scheduler.jobs))
        await until(lambda: job.runs >= 3)
        assert job.state.up
    finally:
        await hc.stop()
    lines = [r.getMessage() for r in caplog.records if "still UP" in r.getMessage()]
    assert bool(lines) is logged, lines
    if logged:
        assert lines[0].startswith(f"TCP_CHECK on [127.0.0.1]:tcp:{port} failed (still UP): ")


@aio
async def test_rs_init_notifies_runs_notify_up_and_the_fifo_line_at_start(tmp_path) -> None:
    srv = Toggle()
    await srv.on()
    fifo = tmp_path / "lvs.fifo"
    glob = f"          lvs_notify_fifo {fifo}\n          rs_init_notifies\n"
    cfg = config(vs_text(srv.port, glob, extra=f'            notify_up "/bin/touch {tmp_path}/up"\n'))
    hc = HealthChecker(notifier=notifier_for(cfg))  # creates the fifo
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    hc.load(cfg)
    try:
        await until(lambda: (tmp_path / "up").exists())
        assert read_fifo(reader) == [f"RS [127.0.0.1]:tcp:{srv.port} [192.0.2.10]:tcp:80 UP"]
        hc.load(cfg)  # a reload: nothing new, nothing notified
        assert read_fifo(reader) == []
    finally:
        await hc.stop()
        await hc.notifier.close()
        os.close(reader)
        await srv.off()


@aio
async def test_without_rs_init_notifies_the_start_is_silent(tmp_path) -> None:
    srv = Toggle()
    await srv.on()
    cfg = config(vs_text(srv.port, extra=f'            notify_up "/bin/touch {tmp_path}/up"\n'))
    hc = HealthChecker(notifier=notifier_for(cfg))
    hc.load(cfg)
    try:
        job = next(iter(hc.scheduler.jobs))
        await until(lambda: job.runs >= 2)
        await hc.notifier.scripts.wait_running(2)
        assert not (tmp_path / "up").exists()
    finally:
        await hc.stop()
        await hc.notifier.close()
        await srv.off()


def test_no_checker_emails_is_what_we_do_and_off_is_refused() -> None:
    assert not loads_config("global_defs {\n    no_checker_emails\n}\n", "k.conf")[1].errors
    assert [str(e) for e in loads_config("global_defs {\n    no_checker_emails false\n}\n", "k.conf")[1].errors] == [
        "k.conf:2:23: error: no_checker_emails: pykeepalived mails only when a real server goes UP or DOWN, "
        "never per checker"]
