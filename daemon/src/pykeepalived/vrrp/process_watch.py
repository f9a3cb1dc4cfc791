"""vrrp_track_process, the adapter: a view of the host's processes, kept current, feeding trackers.

keepalived scans /proc once and then follows the kernel's process events (the
netlink proc connector).  The connector only answers in the initial network
namespace (elsewhere subscribing fails with ECONNREFUSED), and the pids it
reports are the initial PID namespace's.  So:

* proc connector when subscribing works and we are in the initial PID
  namespace (``NSpid`` has one entry): fork/exec/comm events re-read that one
  process, exit events drop it, and a full scan every ``SAFETY_SCAN`` s (and
  after ENOBUFS, events lost) repairs anything missed;
* otherwise (a container, the lab's namespaces) a full scan of /proc every
  ``SCAN_PERIOD`` s; its cost grows with the number of processes and doubles
  when a tracker matches command lines (bench/process_track.py, docs/performance.md).
  Command lines are not cached: a process may exec itself with other arguments
  under the same pid, start time and name.

One ``ProcessView`` serves every tracker of the daemon; each ``ProcessTracker``
turns its count into up/down through the pure ``Quorum`` (delays as timers).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import struct
from collections.abc import Callable

from ..config.model_track_process import TrackProcess
from ..net import rcvbuf
from .process_match import ProcInfo, Quorum, count, parse_stat

log = logging.getLogger(__name__)

SCAN_PERIOD = 1.0
SAFETY_SCAN = 30.0
NETLINK_CONNECTOR, CN_IDX_PROC, CN_VAL_PROC, PROC_CN_MCAST_LISTEN = 11, 1, 1, 1
EV_FORK, EV_EXEC, EV_COMM, EV_EXIT = 0x1, 0x2, 0x200, 0x80000000
NLMSG_HDR, CN_HDR = struct.Struct("=IHHII"), struct.Struct("=IIIIHH")
EVENT_HDR = struct.Struct("=IIQ")  # what, cpu, timestamp_ns


def read_proc(pid: int, want_argv: bool, root: str = "/proc") -> ProcInfo | None:
    """One process as the trackers need it; None when it is gone."""
    try:
        fd = os.open(f"{root}/{pid}/stat", os.O_RDONLY)
        try:
            comm, zombie = parse_stat(os.read(fd, 512).decode(errors="replace"))
        finally:
            os.close(fd)
        argv: tuple[str, ...] = ()
        if want_argv and not zombie:
            with open(f"{root}/{pid}/cmdline", "rb") as f:
                argv = tuple(w.decode(errors="replace") for w in f.read().split(b"\0")[:-1])
    except OSError:
        return None
    return ProcInfo(pid, comm, argv, zombie)


def scan(want_argv: bool, root: str = "/proc") -> dict[int, ProcInfo]:
    out = {}
    for name in os.listdir(root):
        if name[0] in "123456789" and (info := read_proc(int(name), want_argv, root)) is not None:
            out[info.pid] = info
    return out


def parse_events(data: bytes) -> list[tuple[int, int]]:
    """(event, tgid) of the process events in one netlink datagram; thread events left out."""
    out, off = [], 0
    while off + NLMSG_HDR.size <= len(data):
        length = NLMSG_HDR.unpack_from(data, off)[0]
        if length < NLMSG_HDR.size:
            break
        ev = off + NLMSG_HDR.size + CN_HDR.size
        if ev + EVENT_HDR.size + 16 <= off + length:
            what = EVENT_HDR.unpack_from(data, ev)[0]
            body = ev + EVENT_HDR.size
            if what == EV_FORK:
                child_pid, child_tgid = struct.unpack_from("=II", data, body + 8)
                if child_pid == child_tgid:
                    out.append((what, child_tgid))
            elif what in (EV_EXEC, EV_COMM, EV_EXIT):
                pid, tgid = struct.unpack_from("=II", data, body)
                if pid == tgid:
                    out.append((what, tgid))
        off += (length + 3) & ~3
    return out


def in_initial_pid_namespace() -> bool:
    try:
        with open("/proc/self/status") as f:
            return next((len(line.split()) == 2 for line in f if line.startswith("NSpid:")), True)
    except OSError:
        return False


def open_connector() -> socket.socket | None:
    """A socket subscribed to process events, or None where the kernel will not deliver them."""
    if not in_initial_pid_namespace():
        return None
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK, NETLINK_CONNECTOR)
    except OSError:
        return None
    try:
        sock.bind((0, CN_IDX_PROC))
        op = struct.pack("=I", PROC_CN_MCAST_LISTEN)
        cn = CN_HDR.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(op), 0) + op
        sock.send(NLMSG_HDR.pack(NLMSG_HDR.size + len(cn), 3, 0, 0, 0) + cn)  # NLMSG_DONE
    except OSError as err:  # ECONNREFUSED outside the initial network namespace, EPERM without CAP_NET_ADMIN
        log.info("process events unavailable (%s): scanning /proc every %g s", os.strerror(err.errno or 0),
                 SCAN_PERIOD)
        sock.close()
        return None
    return sock


class ProcessView:
    """The processes of the host, for every tracker; started by the first tracker, stopped by the last."""

    def __init__(self, root: str = "/proc", use_connector: bool = True) -> None:
        self.root, self.use_connector = root, use_connector
        self.procs: dict[int, ProcInfo] = {}
        self.with_argv = False  # whether ``procs`` holds command lines
        self.trackers: list[ProcessTracker] = []
        self.sock: socket.socket | None = None
        self.rcv_bufs: tuple[int, bool] | None = None  # global_defs process_monitor_rcv_bufs[_force]
        self.mode = "stopped"
        self._task: asyncio.Task | None = None

    @property
    def want_argv(self) -> bool:
        return any(t.spec.cmdline_match for t in self.trackers)

    def set_rcv_bufs(self, setting: tuple[int, bool] | None) -> None:
        """keepalived's process monitor size; applied now to an open socket (a reload)."""
        if setting != self.rcv_bufs:
            self.rcv_bufs = setting
            if self.sock is not None:
                rcvbuf.apply(self.sock, setting, "process_monitor_rcv_bufs")

    def add(self, tracker: ProcessTracker) -> None:
        self.trackers.append(tracker)
        if self._task is None:
            self.sock = open_connector() if self.use_connector else None
            self.mode = "events" if self.sock is not None else "scan"
            if self.sock is not None:
                rcvbuf.apply(self.sock, self.rcv_bufs, "process_monitor_rcv_bufs")
            self._scan()
            loop = asyncio.get_running_loop()
            if self.sock is not None:
                loop.add_reader(self.sock.fileno(), self._readable)
            self._task = loop.create_task(self._periodic())
        elif tracker.spec.cmdline_match and not self.with_argv:
            self._scan()
        tracker.feed(self.procs.values())

    async def remove(self, tracker: ProcessTracker) -> None:
        if tracker in self.trackers:
            self.trackers.remove(tracker)
        if not self.trackers and self._task is not None:
            if self.sock is not None:
                asyncio.get_running_loop().remove_reader(self.sock.fileno())
                self.sock.close()
                self.sock = None
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task, self.mode = None, "stopped"

    def _scan(self) -> None:
        self.with_argv = self.want_argv
        self.procs = scan(self.with_argv, self.root)

    def rescan(self) -> None:
        self._scan()
        self._publish()

    def _publish(self) -> None:
        for tracker in list(self.trackers):
            tracker.feed(self.procs.values())

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(SAFETY_SCAN if self.sock is not None else SCAN_PERIOD)
            self.rescan()

    def _readable(self) -> None:
        changed = False
        want_argv = self.with_argv
        while True:
            try:
                data = self.sock.recv(65536)  # type: ignore[union-attr]
            except BlockingIOError:
                break
            except OSError as err:
                if err.errno == errno.ENOBUFS:  # events were lost: start again from /proc
                    self.rescan()
                    return
                raise
            for what, tgid in parse_events(data):
                if what == EV_EXIT:
                    changed |= self.procs.pop(tgid, None) is not None
                elif (info := read_proc(tgid, want_argv, self.root)) is not None:
                    self.procs[tgid] = info
                    changed = True
        if changed:
            self._publish()


VIEW = ProcessView()  # one per daemon process: every tracker shares it


def tracked_weight(spec: TrackProcess, ref_weight: int | None, ref_reverse: bool) -> tuple[int, bool]:
    """(weight, invert) for one instance: ``reverse`` negates a weight; with weight 0 it
    inverts the state instead (keepalived: ``weight 0 reverse`` faults while the quorum is up)."""
    weight = spec.weight if ref_weight is None else ref_weight
    reverse = ref_reverse or spec.weight_reverse
    return (-weight if reverse else weight), (reverse and weight == 0)


class ProcessTracker:
    """One vrrp_track_process: ``up`` and listeners, like ScriptTracker (vrrp/track.py)."""

    def __init__(self, spec: TrackProcess, view: ProcessView | None = None) -> None:
        self.spec, self.view = spec, view or VIEW
        self.quorum = Quorum(spec)
        self._listeners: list[Callable[[bool], None]] = []
        self._timer: asyncio.TimerHandle | None = None
        # the first count now, so an instance wired to us starts from the truth (no delays apply)
        procs = self.view.procs if self.view.trackers else scan(spec.cmdline_match, self.view.root)
        self.quorum.feed(count(spec, list(procs.values())), 0.0)

    @property
    def up(self) -> bool:
        return bool(self.quorum.up)

    def listen(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        """Subscribe; returns the unsubscribe (a kept tracker outlives the instances of a reload)."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)
        return unsubscribe

    def start(self) -> None:
        self.view.add(self)

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        await self.view.remove(self)

    def feed(self, procs) -> None:
        loop = asyncio.get_running_loop()
        self._changed(self.quorum.feed(count(self.spec, list(procs)), loop.time()))

    def _on_timer(self) -> None:
        self._timer = None
        self._changed(self.quorum.handle_timer(asyncio.get_running_loop().time()))

    def _changed(self, new: bool | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if (deadline := self.quorum.next_deadline()) is not None:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._on_timer)
        if new is None:
            return
        log.info("vrrp_track_process %s now %s (%d running)", self.spec.name, "up" if new else "down",
                 self.quorum.counted)
        for callback in list(self._listeners):
            callback(new)
