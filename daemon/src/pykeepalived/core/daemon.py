"""The daemon's asyncio main loop: load, run every VRRP instance, handle signals.

Signals (keepalived's): TERM/INT stop (masters send priority 0 and remove
their VIPs first, RFC 5798 6.4.3), USR1 writes the JSON dump to
RUNTIME_DIR/pykeepalived.json.  HUP (reload), the control socket and
sd_notify hook in here later (issue 6): ``Daemon.run`` is
start -> serve until a stop request -> stop, with one handler per signal.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time

from .. import __version__
from ..config.loader import load_config
from ..config.model import Config
from ..vrrp.manager import VrrpManager
from .runfiles import RunFiles

log = logging.getLogger("pykeepalived")


class Daemon:
    def __init__(self, config: Config, files: RunFiles, config_path: str) -> None:
        self.config, self.files, self.config_path = config, files, config_path
        self.vrrp = VrrpManager(config)
        self._stop = asyncio.Event()
        self.started = time.time()

    def request_stop(self, signame: str) -> None:
        log.info("%s received: stopping", signame)
        self._stop.set()

    def dump(self) -> dict[str, object]:
        return {"pid": os.getpid(), "version": __version__, "config": self.config_path,
                "started": self.started, "dumped": time.time(), "vrrp": self.vrrp.status()}

    def write_dump(self) -> None:
        self.files.write_dump(self.dump())
        log.info("state dumped to %s", self.files.dump)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop, "SIGTERM")
        loop.add_signal_handler(signal.SIGINT, self.request_stop, "SIGINT")
        loop.add_signal_handler(signal.SIGUSR1, self.write_dump)
        rc = 0
        try:
            await self.vrrp.start()
            log.info("running %d VRRP instance(s)", len(self.vrrp.instances))
            await self._stop.wait()
        except OSError as err:
            log.error("cannot start: %s", err)
            rc = 1
        finally:
            await self.vrrp.stop()
        log.info("stopped")
        return rc


def setup_logging(detail: bool) -> None:
    fmt = "%(asctime)s pykeepalived[%(process)d]: %(levelname)s %(name)s: %(message)s" if detail \
        else "%(asctime)s pykeepalived[%(process)d]: %(message)s"
    logging.basicConfig(level=logging.DEBUG if detail else logging.INFO, format=fmt, stream=sys.stderr)
    logging.getLogger("pyroute2").setLevel(logging.WARNING)


def run_daemon(config_path: str, runtime_dir: str, pidfile: str | None, detail: bool = False) -> int:
    """Entry point for ``pykeepalived -f FILE -n``; refuses a config with errors."""
    setup_logging(detail)
    config, diags = load_config(config_path)
    for diag in diags.sorted():
        print(diag, file=sys.stderr)
    if diags.errors:
        print(f"{config_path}: configuration rejected, not starting", file=sys.stderr)
        return 1
    files = RunFiles(runtime_dir, pidfile)
    files.write_pid()
    try:
        return asyncio.run(Daemon(config, files, config_path).run())
    finally:
        files.remove_pid()
