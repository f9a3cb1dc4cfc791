"""The daemon's asyncio main loop: VRRP, health checkers + IPVS, control socket, signals.

``Daemon.run`` is start -> serve until a stop request -> stop.  Signals
(keepalived's): TERM/INT stop (masters send priority 0 first, RFC 5798 6.4.3,
and keep their VIPs until the new master speaks: the graceful handover,
vrrp/fsm.py; the stop waits for it), HUP reload (core/reload.py: a diff, unchanged
instances and checkers untouched; a bad config is logged with FILE:LINE:COL
and the old one keeps running), USR1 data dump, USR2 stats dump (core/dumps.py;
both under the runtime dir, text and JSON).  Control commands: core/commands.py.  Under systemd (``Type=notify``) it sends
READY=1, a STATUS= line and WATCHDOG=1 from a task of this loop, so a stalled
loop stops the pings and systemd restarts us.
"""
from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path

from ..compat.aio import Event, Lock
from ..config.model import Config
from ..services import checklog, heap
from ..services.logs import setup_logging
from ..services.netns import join_for
from ..services.runfiles import RunFiles
from ..services.sdnotify import SdNotify
from ..services.signals import install_stop_signals, restore_stop_signals
from . import dumps, snapshot
from .children import MAX_PING_PERIOD, Busy, child_setup, child_socket, ping
from .control import ControlServer

# Imported where used: the judge and the reload (the parser, the validator) only in a daemon that
# reads the file itself; the control commands (the load balancer's) on the first command.  A
# supervised VRRP child then never loads the config language or the lb/ layer (issue 17).

log = logging.getLogger("pykeepalived")


class Daemon:
    def __init__(self, config: Config, files: RunFiles, config_path: str, *,
                 vrrp: bool = True, check: bool = True, bfd: bool = False, ping_fd: int | None = None,
                 ping_period: float = MAX_PING_PERIOD) -> None:
        self.config, self.files, self.config_path = config, files, config_path
        self.ping_fd = ping_fd  # a child of core/supervisor.py: pings the parent instead of systemd
        self.ping_period = ping_period  # the parent's choice (children.ping_period)
        self.role = "bfd" if bfd else "vrrp" if vrrp else "check"
        # the BFD sessions: the BFD child runs them (``bfd``) and the other children hear their
        # events (bfd/events.py); an unsupervised -C runs its own (-P: the VRRP manager does),
        # shared with the VRRP manager when one process runs both
        self.bfd = None
        self.bfd_events = None
        if bfd:
            from ..bfd.service import BfdService  # noqa: PLC0415
            self.bfd = BfdService(files.dir)
        elif ping_fd is not None:
            from ..bfd.events import EventClient, socket_path  # noqa: PLC0415
            self.bfd_events = EventClient(socket_path(files.dir))
        elif check:
            from ..bfd.transport import BfdRunner  # noqa: PLC0415
            self.bfd_events = BfdRunner()
        # each role imports only its own code: a checker child never loads the VRRP runtime,
        # a VRRP child never the load balancer
        self.vrrp = None
        if vrrp:
            from ..vrrp.manager import VrrpManager  # noqa: PLC0415
            self.vrrp = VrrpManager(config, files.dir, bfd=self.bfd_events)
        self.lb = None
        if check:
            from ..lb.loop import LbLoop  # noqa: PLC0415
            self.lb = LbLoop(config, files.dir, bfd=self.bfd_events)
        self.control = ControlServer(files.dir, self.handle)
        self.sd = SdNotify()
        self.data_name, self.stats_name = dumps.DATA_NAME, dumps.STATS_NAME
        self.metrics = None  # core/metrics.py, when global_defs has metrics_listen (not in a supervised child)
        if config.global_defs.metrics_listen and ping_fd is None:
            from .metrics import MetricsServer  # noqa: PLC0415
            self.metrics = MetricsServer(config.global_defs.metrics_listen, self._metrics_status)
        if ping_fd is not None:  # a supervised child: its own socket; the checker child its own dumps
            self.control.path = child_socket(files.dir, self.role)
            if self.role == "bfd":
                self.files.dump = files.dir / dumps.BFD_DUMP_NAME
                self.data_name, self.stats_name = dumps.BFD_DATA_NAME, dumps.BFD_STATS_NAME
            elif not vrrp:
                self.files.dump = files.dir / dumps.CHECK_DUMP_NAME
                self.data_name, self.stats_name = dumps.CHECK_DATA_NAME, dumps.CHECK_STATS_NAME
        self._stop = Event()
        self._reload_lock = Lock()
        self._tasks: set[asyncio.Task] = set()
        self.starting: Busy | None = None  # a supervised child: busy lines until its loop pings
        self.started = time.time()
        self.reloads = 0
        self.reload_failures = 0
        self.last_reload: dict[str, object] | None = None

    # -- signals ------------------------------------------------------------
    def farewell(self) -> None:
        """Masters send priority 0 now (RFC 5798 6.4.3) and start their handover; idempotent.
        Runs from the SIGTERM handler when the loop is idle (services/signals.py); the orderly
        stop follows and waits for the handovers (``VrrpManager.stop``)."""
        if self.vrrp is not None:
            self.vrrp.shutdown()

    def request_stop(self, signame: str) -> None:
        self.farewell()
        log.info("%s received: stopping", signame)
        self._stop.set()

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_hup(self) -> None:
        log.info("SIGHUP received: reloading %s", self.config_path)
        self._spawn(self.reload())

    # -- reload -------------------------------------------------------------
    async def reload(self) -> dict[str, object]:
        """Validate first; a bad config changes nothing.  Then the diff."""
        async with self._reload_lock:
            if self._stop.is_set():
                return {"reloaded": False, "errors": ["daemon is stopping"]}
            self.sd.reloading()
            try:
                # a big config blocks this loop a while: alive meanwhile
                with Busy(self.ping_fd, "reload", self.ping_period):
                    config, errors = await self._next_config()
                    result = await self._apply(config, errors)
            finally:
                self.sd.ready(self.status_line())
            self.last_reload = {"time": time.time(), **result}
            return result

    async def _apply(self, config: Config | None, errors: list[str]) -> dict[str, object]:
        if config is None:
            self.reload_failures += 1
            for err in errors:
                log.error("%s", err)
            log.error("reload: %s rejected (%d error%s); still running the previous configuration",
                      self.config_path, len(errors), "s" if len(errors) != 1 else "")
            return {"reloaded": False, "errors": errors}
        result: dict[str, object] = {"reloaded": True, "errors": []}
        if self.bfd is not None:
            result["bfd"] = self.bfd.reload(config.bfd_instances)
        if self.vrrp is not None:
            result["vrrp"] = await self.vrrp.apply(config)
        if self.lb is not None:
            self.bfd_events.apply(config.bfd_instances)
            result["lb"] = await self.lb.reload(config)
        self.config = config
        self.reloads += 1
        if self.bfd is None:  # a full collection would stall the BFD child's timers: its GC runs as usual
            heap.settle()  # the replaced config and instances can be reclaimed now
        # supervised, the parent logs "reload done" for the whole daemon
        moved = json.dumps({k: v for k, v in result.items() if k != "errors"}, sort_keys=True)
        log.info("reload %s: %s", "applied" if self.ping_fd is not None else "done", moved)
        return result

    async def _next_config(self) -> tuple[Config | None, list[str]]:
        """A supervised child applies what its parent judged and accepted (the snapshot); a
        standalone daemon judges the file itself, off its loop (core/reload.py)."""
        if self.ping_fd is not None:
            try:
                return snapshot.load(self.files.dir, servers=self.lb is not None), []
            except snapshot.SnapshotError as err:
                return None, [str(err)]
        from .reload import load_new  # noqa: PLC0415

        judged = await load_new(self.config_path, lb_backend=self.lb is not None)
        checklog.record(self.config.global_defs.reload_check_config, judged.errors)
        return judged.config, judged.errors

    # -- control socket ---------------------------------------------------------
    async def handle(self, req: dict) -> object:
        cmd = req["cmd"]
        if cmd == "status":
            return self.dump()
        if cmd == "reload":
            return await self.reload()
        from . import commands  # noqa: PLC0415

        if cmd in ("resign", "unresign"):
            return commands.resign(self.vrrp, req, cmd == "resign")
        return await commands.real_server(self.lb, req)

    # -- status, dumps ------------------------------------------------------------
    async def _metrics_status(self) -> dict[str, object]:
        return self.dump()

    def dump(self) -> dict[str, object]:
        return dumps.status(self)

    def stats(self) -> dict[str, object]:
        return dumps.stats(self)

    def write_dump(self) -> None:
        data = self.dump()
        self.files.write_dump(data)  # pykeepalived.json, the established name
        dumps.write(self.files.dir, self.data_name, data, "data")

    def write_stats(self) -> None:
        dumps.write(self.files.dir, self.stats_name, self.stats(), "stats")

    def status_line(self) -> str:
        return dumps.status_line(self)

    async def _tick(self) -> None:
        """Watchdog pings and STATUS updates, from the loop that does the work."""
        period = min(self.sd.watchdog_interval() or 1.0, 1.0)
        if self.ping_fd is not None:
            period = self.ping_period
        sent = None  # the status line the parent has
        while True:
            self.sd.watchdog()
            status = self.status_line()
            self.sd.status(status)
            if self.ping_fd is not None:
                ping(self.ping_fd, None if status == sent else status)
                sent = status
            await asyncio.sleep(period)

    # -- life -------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        install_stop_signals(loop, self.request_stop, self.farewell)
        loop.add_signal_handler(signal.SIGUSR1, self.write_dump)
        loop.add_signal_handler(signal.SIGUSR2, self.write_stats)
        loop.add_signal_handler(signal.SIGHUP, self.on_hup)
        rc = 0
        try:
            if self.bfd is not None:
                await self.bfd.start(self.config.bfd_instances)
                log.info("running %d BFD session(s)", len(self.bfd.runner.peers))
            if self.vrrp is not None:
                await self.vrrp.apply(self.config)
                log.info("running %d VRRP instance(s)", len(self.vrrp.instances))
            if self.lb is not None:
                self.bfd_events.apply(self.config.bfd_instances)  # BFD_CHECK's sessions
                await self.lb.start()
            await self.control.start()
            if self.metrics is not None:
                await self.metrics.start()
            self.sd.ready(self.status_line())
            heap.settle()
            if self.ping_fd is None:  # a standalone daemon judges its reloads: its judge forked now
                from .reload import start_judge  # noqa: PLC0415

                start_judge(self.config_path, lb_backend=self.lb is not None)
            if self.starting is not None:  # from here the loop pings (its first ping: ready)
                self.starting.stop()
            self._spawn(self._tick())
            await self._stop.wait()
        except OSError as err:
            log.error("cannot start: %s", err)
            rc = 1
        finally:
            if self.starting is not None:
                self.starting.stop()
            self.sd.stopping()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self.vrrp is not None:  # first: masters resign (priority 0) before anything else
                await self.vrrp.stop()
            await self.control.stop()
            if self.metrics is not None:
                await self.metrics.stop()
            if self.lb is not None:
                await self.lb.stop()
            if self.bfd_events is not None:  # idempotent: the VRRP manager may have stopped it
                await self.bfd_events.stop()
            if self.bfd is not None:  # last: tracked sessions hold while the others stop
                await self.bfd.stop()
            self.sd.close()
            restore_stop_signals()  # the handler schedules on this loop, which is about to close
        log.info("stopped")
        return rc


def run_daemon(config_path: str, runtime_dir: str, pidfile: str | None, detail: bool = False, *,
               vrrp: bool = True, check: bool = True, bfd: bool = False, ping_fd: int | None = None,
               ping_period: float = MAX_PING_PERIOD) -> int:
    """Entry point for ``pykeepalived -f FILE -n -P|-C|--bfd``; refuses a config with errors."""
    role = "bfd" if bfd else "vrrp" if vrrp else "check"
    starting = None
    if ping_fd is not None:
        child_setup(ping_fd)
        # the start (snapshot, first full apply of the data plane) blocks the loop: busy lines say so
        starting = Busy(ping_fd, "start", ping_period).start()
    setup_logging(detail, None if ping_fd is None else role)
    from .judge import load_for_child, load_for_start  # noqa: PLC0415

    if ping_fd is None:
        config = load_for_start(config_path, lb_backend=check)
        if config is not None:  # net_namespace (services/netns.py); a supervised child is in it already
            try:
                runtime_dir = join_for(config.net_namespace, runtime_dir)
            except OSError as err:
                print(f"pykeepalived: {err.strerror}, not starting", file=sys.stderr)
                return 1
    else:  # the parent judged the file and left what it accepted in the runtime dir
        config = load_for_child(runtime_dir, lb_backend=check)
    if config is None:
        if starting is not None:
            starting.stop()
        return 1
    from ..services import sched  # noqa: PLC0415 (global_defs vrrp_*/checker_* scheduling keywords)
    role_name = {"check": "checker"}.get(role, role)  # global_defs' vrrp_*/checker_*/bfd_* prefix
    sched.apply(sched.for_role(config.global_defs, role_name), config.global_defs)
    from ..services import procattrs, startstop  # noqa: PLC0415 (global_defs umask, names, start/stop scripts)
    procattrs.apply_start(config.global_defs, role_name, umask=ping_fd is None)
    files = RunFiles(runtime_dir, pidfile)
    files.write_pid()
    if ping_fd is None:  # unsupervised, this process is keepalived's parent too
        startstop.run("startup", config.global_defs)
    daemon = None
    try:
        daemon = Daemon(config, files, str(Path(config_path)), vrrp=vrrp, check=check, bfd=bfd, ping_fd=ping_fd,
                        ping_period=ping_period)
        daemon.starting = starting
        return asyncio.run(daemon.run())
    finally:
        if ping_fd is None:
            startstop.run("shutdown", (daemon.config if daemon is not None else config).global_defs)
        files.remove_pid()
