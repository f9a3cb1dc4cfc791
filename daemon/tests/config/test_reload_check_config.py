"""global_defs reload_check_config [LOG_FILE] (keepalived 2.2): every reload is judged before it is
applied anyway; LOG_FILE gets each judgement's errors, emptied first (an accepted one leaves it empty)."""
from __future__ import annotations

import signal
import time
from pathlib import Path

from pykeepalived.config.loader import loads_config

from ..net.netns_probe import needs_netns
from .private_daemon import START_WAIT, private_daemon, wait_for


def test_the_keyword_with_and_without_a_file() -> None:
    config, diags = loads_config("global_defs {\n    reload_check_config /run/x.log\n}\n", "k.conf")
    assert not diags.errors and config.global_defs.reload_check_config == "/run/x.log"
    config, diags = loads_config("global_defs {\n    reload_check_config\n}\n", "k.conf")
    assert not diags.errors and config.global_defs.reload_check_config is None


@needs_netns
def test_a_refused_reload_is_written_to_the_file(tmp_path: Path) -> None:
    run, log, conf = tmp_path / "run", tmp_path / "check.log", tmp_path / "keepalived.conf"
    run.mkdir()
    good = f"global_defs {{\n    reload_check_config {log}\n}}\n"
    conf.write_text(good)
    with private_daemon(conf, run) as proc:
        deadline = time.monotonic() + START_WAIT
        assert not log.exists()  # the start is not a reload
        conf.write_text(good + "vrrp_instance VI {\n    priority 300\n}\n")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log.exists() and log.read_text(), proc, deadline)
        lines = log.read_text().splitlines()
        assert any(line.startswith(f"{conf}:5:5: error: priority") for line in lines), lines
        conf.write_text(good)
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log.read_text() == "", proc, deadline)
