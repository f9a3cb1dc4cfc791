"""The daemon's asyncio main loop: VRRP, health checkers + IPVS, control socket, signals.

``Daemon.run`` is start -> serve until a stop request -> stop.  Signals
(keepalived's): TERM/INT stop (masters send priority 0 first, RFC 5798 6.4.3,
and keep their VIPs until the new master speaks: the graceful handover,
vrrp/fsm.py; the stop waits for it), HUP reload (core/reload.py: a diff, unchanged
instances and checkers untouched; a bad config is logged with FILE:LINE:COL
and the old one keeps running), USR1 data dump, USR2 stats dump (both under
the runtime dir, text and JSON).  Under systemd (``Type=notify``) it sends
READY=1, a STATUS= line and WATCHDOG=1 from a task of this loop, so a stalled
loop stops the pings and systemd restarts us.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from pathlib import Path

from .. import __version__
from ..config.model import Config
from ..lb.loop import ControlError
from ..services import heap
from ..services.logs import setup_logging
from ..services.runfiles import RunFiles, write_atomic
from ..services.sdnotify import SdNotify
from ..services.signals import install_stop_signals, restore_stop_signals
from . import snapshot
from .control import ControlServer, RequestError, arg_float, arg_int, arg_str
from .judge import load_for_child, load_for_start
from .reload import load_new

log = logging.getLogger("pykeepalived")

DATA_NAME = "pykeepalived.data"
STATS_NAME = "pykeepalived.stats"


def render_text(data: object, indent: int = 0) -> list[str]:
    """A nested dict/list as indented ``key = value`` lines (keepalived's .data/.stats style)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict | list) and value:
                lines.append(f"{pad}{key}:")
                lines += render_text(value, indent + 2)
            else:
                lines.append(f"{pad}{key} = {value if value not in ({}, []) else '(none)'}")
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                head = item.get("name") or item.get("virtual_server") or item.get("real_server")
                lines.append(f"{pad}- {head}" if head else f"{pad}-")
                lines += render_text({k: v for k, v in item.items() if v is not head}, indent + 2)
            else:
                lines.append(f"{pad}- {item}")
    else:
        lines.append(f"{pad}{data}")
    return lines


class Daemon:
    def __init__(self, config: Config, files: RunFiles, config_path: str, *,
                 vrrp: bool = True, check: bool = True, ping_fd: int | None = None) -> None:
        self.config, self.files, self.config_path = config, files, config_path
        self.ping_fd = ping_fd  # a child of core/supervisor.py: pings the parent instead of systemd
        # each role imports only its own code: a checker child never loads the VRRP runtime
        # (pyroute2's whole package, ~20 MB), a VRRP child never the load balancer
        self.vrrp = None
        if vrrp:
            from ..vrrp.manager import VrrpManager  # noqa: PLC0415
            self.vrrp = VrrpManager(config, files.dir)
        self.lb = None
        if check:
            from ..lb.loop import LbLoop  # noqa: PLC0415
            self.lb = LbLoop(config, files.dir)
        self.control = ControlServer(files.dir, self.handle)
        self.sd = SdNotify()
        self.data_name, self.stats_name = DATA_NAME, STATS_NAME
        self.metrics = None  # core/metrics.py, when global_defs has metrics_listen (not in a supervised child)
        if config.global_defs.metrics_listen and ping_fd is None:
            from .metrics import MetricsServer  # noqa: PLC0415
            self.metrics = MetricsServer(config.global_defs.metrics_listen, self._metrics_status)
        if ping_fd is not None:  # a supervised child: its own socket; the checker child its own dumps
            from .supervisor import child_socket  # noqa: PLC0415
            self.control.path = child_socket(files.dir, "vrrp" if vrrp else "check")
            if not vrrp:
                self.files.dump = files.dir / "pykeepalived_check.json"
                self.data_name, self.stats_name = "pykeepalived_check.data", "pykeepalived_check.stats"
        self._stop = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self.started = time.time()
        self.reloads = 0
        self.reload_failures = 0
        self.last_reload: dict[str, object] | None = None
        self.ticks = 0

    # -- signals ------------------------------------------------------------
    def farewell(self) -> None:
        """Masters send priority 0 now (RFC 5798 6.4.3) and start their handover; idempotent.
        Runs from the SIGTERM handler when the loop is idle (core/signals.py); the orderly
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
                config, errors = await self._next_config()
                if config is None:
                    self.reload_failures += 1
                    for err in errors:
                        log.error("%s", err)
                    log.error("reload: %s rejected (%d error%s); still running the previous configuration",
                              self.config_path, len(errors), "s" if len(errors) != 1 else "")
                    result: dict[str, object] = {"reloaded": False, "errors": errors}
                else:
                    result = {"reloaded": True, "errors": []}
                    if self.vrrp is not None:
                        result["vrrp"] = await self.vrrp.apply(config)
                    if self.lb is not None:
                        result["lb"] = await self.lb.reload(config)
                    self.config = config
                    self.reloads += 1
                    heap.settle()  # the replaced config and instances can be reclaimed now
                    # supervised, the parent logs "reload done" for the whole daemon
                    moved = json.dumps({k: v for k, v in result.items() if k != "errors"}, sort_keys=True)
                    log.info("reload %s: %s", "applied" if self.ping_fd is not None else "done", moved)
            finally:
                self.sd.ready(self.status_line())
            self.last_reload = {"time": time.time(), **result}
            return result

    async def _next_config(self) -> tuple[Config | None, list[str]]:
        """A supervised child applies what its parent judged and accepted (the snapshot); a
        standalone daemon judges the file itself, off its loop (core/reload.py)."""
        if self.ping_fd is not None:
            try:
                return snapshot.load(self.files.dir), []
            except snapshot.SnapshotError as err:
                return None, [str(err)]
        judged = await load_new(self.config_path, lb_backend=self.lb is not None)
        return judged.config, judged.errors

    # -- control socket ---------------------------------------------------------
    async def handle(self, req: dict) -> object:
        cmd = req["cmd"]
        if cmd == "status":
            return self.dump()
        if cmd == "reload":
            return await self.reload()
        if cmd in ("resign", "unresign"):
            return self._resign(req, cmd == "resign")
        if self.lb is None:
            raise RequestError("load balancing is not running in this daemon (-P)")
        addr = arg_str(req, "address")
        port = arg_int(req, "port", 0, 65535)
        vs = arg_str(req, "virtual_server", required=False)
        try:
            if cmd in ("drain", "undrain"):
                changed, message = self.lb.drain(addr, port, vs, drained=cmd == "drain")
                log.info("control: %s %s%s: %s", cmd, addr, f":{port}" if port else "", message)
                return {"changed": changed, "message": message}
            if cmd == "set-weight":
                if "weight" not in req:
                    raise RequestError("'weight' is required (null clears the operator weight)")
                weight = arg_int(req, "weight", 0, 65535)
                changed, message = self.lb.set_weight(addr, weight, port, vs)
                log.info("control: set-weight %s%s: %s", addr, f":{port}" if port else "", message)
                return {"changed": changed, "message": message}
            if cmd == "wait-drain":
                timeout = arg_float(req, "timeout", 60.0, 0.0, 86400.0)
                drained, active = await self.lb.wait_drain(addr, port, vs, timeout)
                return {"drained": drained, "active": active}
        except ControlError as err:
            raise RequestError(str(err)) from None
        raise RequestError(f"unknown command {cmd!r}")

    def _resign(self, req: dict, resigned: bool) -> dict[str, object]:
        """``resign``/``unresign``: {"instances": [NAME, ...]} or none/null for all."""
        if self.vrrp is None:
            raise RequestError("VRRP is not running in this daemon (-C)")
        names = req.get("instances")
        if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise RequestError("'instances' must be a list of vrrp_instance names (or null for all)")
        try:
            result = self.vrrp.set_resigned(names or None, resigned)
        except ValueError as err:
            raise RequestError(str(err)) from None
        log.info("control: %s: %s", "resign" if resigned else "unresign", result["message"])
        return result

    # -- status, dumps ------------------------------------------------------------
    async def _metrics_status(self) -> dict[str, object]:
        return self.dump()

    def dump(self) -> dict[str, object]:
        return {"pid": os.getpid(), "version": __version__, "config": self.config_path,
                "started": self.started, "dumped": time.time(),
                "subsystems": [s for s, on in (("vrrp", self.vrrp), ("check", self.lb)) if on is not None],
                "reloads": self.reloads, "reload_failures": self.reload_failures,
                "last_reload": self.last_reload,
                "vrrp": self.vrrp.status() if self.vrrp is not None else None,
                "lb": self._lb_status()}

    def _lb_status(self) -> dict[str, object] | None:
        if self.lb is None:
            return None
        out = self.lb.status()
        lat = self.lb.health.scheduler.lateness if self.lb.health is not None else None
        if lat is not None and lat.count:
            out["checker_lateness"] = {"p50": lat.percentile(50), "max": lat.max, "count": lat.count}
        return out

    def stats(self) -> dict[str, object]:
        out: dict[str, object] = {"pid": os.getpid(), "dumped": time.time(), "uptime": time.time() - self.started,
                                  "reloads": self.reloads, "reload_failures": self.reload_failures,
                                  "control": {"requests": self.control.requests, "errors": self.control.errors,
                                              "refused": self.control.refused}}
        if self.vrrp is not None:
            st = self.vrrp.status()
            out["vrrp"] = {i["name"]: {"state": i["state"], **i["counters"]} for i in st["instances"]}
            out["socket_drops"] = st["socket_drops"]
        if self.lb is not None:
            lat = self.lb.health.scheduler.lateness if self.lb.health is not None else None
            up, total = self.lb.summary()
            out["lb"] = {"backend": self.lb.lb.backend.name, "reconciles": self.lb.reconciles,
                         "real_servers_up": up, "real_servers": total,
                         "checker_lateness_p50": lat.percentile(50) if lat is not None and lat.count else None,
                         "checker_lateness_max": lat.max if lat is not None and lat.count else None}
        return out

    def _write(self, name: str, data: dict, what: str) -> None:
        path = self.files.dir / name
        write_atomic(path, "\n".join(render_text(data)) + "\n")
        write_atomic(path.with_name(name + ".json"), json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
        log.info("%s written to %s (+ .json)", what, path)

    def write_dump(self) -> None:
        data = self.dump()
        self.files.write_dump(data)  # pykeepalived.json, the established name
        self._write(self.data_name, data, "data")

    def write_stats(self) -> None:
        self._write(self.stats_name, self.stats(), "stats")

    def status_line(self) -> str:
        """systemd's STATUS=: "VI_1 MASTER, VI_2 BACKUP, 3/3 real servers up"."""
        parts = []
        if self.vrrp is not None:
            for name, inst in self.vrrp.instances.items():
                if inst.router is not None:
                    parts.append(f"{name} {inst.router.state.value.upper()}")
        if self.lb is not None and self.config.virtual_servers:
            up, total = self.lb.summary()
            parts.append(f"{up}/{total} real servers up")
        return ", ".join(parts) or "running (nothing configured)"

    async def _tick(self) -> None:
        """Watchdog pings and STATUS updates, from the loop that does the work."""
        period = min(self.sd.watchdog_interval() or 1.0, 1.0)
        if self.ping_fd is not None:
            from .supervisor import PING_PERIOD, ping  # noqa: PLC0415
            period = PING_PERIOD
        while True:
            self.ticks += 1
            self.sd.watchdog()
            self.sd.status(self.status_line())
            if self.ping_fd is not None:
                ping(self.ping_fd, self.status_line())
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
            if self.vrrp is not None:
                await self.vrrp.apply(self.config)
                log.info("running %d VRRP instance(s)", len(self.vrrp.instances))
            if self.lb is not None:
                await self.lb.start()
            await self.control.start()
            if self.metrics is not None:
                await self.metrics.start()
            self.sd.ready(self.status_line())
            heap.settle()
            self._spawn(self._tick())
            await self._stop.wait()
        except OSError as err:
            log.error("cannot start: %s", err)
            rc = 1
        finally:
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
            self.sd.close()
            restore_stop_signals()  # the handler schedules on this loop, which is about to close
        log.info("stopped")
        return rc


def run_daemon(config_path: str, runtime_dir: str, pidfile: str | None, detail: bool = False, *,
               vrrp: bool = True, check: bool = True, ping_fd: int | None = None) -> int:
    """Entry point for ``pykeepalived -f FILE -n -P|-C``; refuses a config with errors."""
    if ping_fd is not None:
        from .supervisor import child_setup  # noqa: PLC0415
        child_setup(ping_fd)
    setup_logging(detail, None if ping_fd is None else "vrrp" if vrrp else "check")
    if ping_fd is None:
        config = load_for_start(config_path, lb_backend=check)
    else:  # the parent judged the file and left what it accepted in the runtime dir
        config = load_for_child(runtime_dir, lb_backend=check)
    if config is None:
        return 1
    from ..services import sched  # noqa: PLC0415 (global_defs vrrp_*/checker_* scheduling keywords)
    sched.apply(sched.for_role(config.global_defs, "vrrp" if vrrp else "checker"), config.global_defs)
    files = RunFiles(runtime_dir, pidfile)
    files.write_pid()
    try:
        return asyncio.run(Daemon(config, files, str(Path(config_path)), vrrp=vrrp, check=check,
                                  ping_fd=ping_fd).run())
    finally:
        files.remove_pid()
