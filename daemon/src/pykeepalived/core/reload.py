"""Reload as a diff (SIGHUP, ``pykeepalivedctl reload``).

1. ``load_new(path)``: parse and validate in a forked process, kept for the
   next reloads when the config has virtual servers (bounded by
   ``JUDGE_TIMEOUT``); any error -> the errors (each ``FILE:LINE:COL:
   error: ...``) and no config: the caller keeps running the old one
   untouched.
2. Each subsystem applies the new config as a diff of the running one:
   ``vrrp.manager.VrrpManager.apply`` (the plan is ``vrrp/plan.py``),
   ``check.health.HealthChecker.load`` (``compare()`` keeps results) and
   ``lb.plane.LoadBalancer.reload`` (see ``lb/loop.py``).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import select
import signal
import struct

from ..compat.aio import TIMEOUT_ERRORS
from . import snapshot
from .judge import Verdict, blocks, verdict_bytes
from .judge import judge as judge_file

log = logging.getLogger("pykeepalived.reload")


JUDGE_TIMEOUT = 120.0  # s: a file not judged by then is refused (the running config stays)


async def load_new(path: str, *, lb_backend: bool = True, timeout: float = JUDGE_TIMEOUT) -> Verdict:
    """Judge ``path`` in a process of its own (core/judge.py), the warnings logged.

    The running loop only waits on a pipe: a file that takes seconds to parse
    cannot stall VRRP (or the supervisor's liveness check); one that takes
    longer than ``timeout``, or a judge that dies, is a refused reload (and
    that judge is gone: the next reload forks another).  The accepted config
    comes as the snapshot's bytes (``Verdict.snapshot``): this process
    unpickles only the virtual servers it does not hold already."""
    if lb_backend:  # what the judge imports for it is imported here once, not in every forked judge
        import pykeepalived.lb.loop  # noqa: F401, PLC0415
    try:
        judge = _judge_for(lb_backend)
    except OSError as err:
        return Verdict(None, [f"{path}: error: cannot start the judge: {err}"])
    try:
        out = await asyncio.wait_for(judge.ask(path, lb_backend, snapshot.DECODER.held), timeout)
    except TIMEOUT_ERRORS:
        await _discard(judge)
        return Verdict(None, [f"{path}: error: not judged within {timeout:g} s; not loaded"])
    except asyncio.CancelledError:  # the daemon is stopping: the judge goes with it
        await _discard(judge)
        raise
    except OSError as err:  # it died (its end of the pipes closed)
        status = await _discard(judge, kill=False)
        why = f"exit status {status}" if status >= 0 else f"killed by {signal.Signals(-status).name}"
        return Verdict(None, [f"{path}: error: the judge failed: {why} ({err.strerror or err})"])
    why = "not a verdict"
    try:
        got = pickle.loads(out)
        if isinstance(got, Verdict) and got.snapshot is not None:  # only what changed is unpickled
            got.config = snapshot.decode(got.snapshot, path, keep_blobs=True)
            if got.blocks is not None:  # a judge forked later reuses its unchanged blocks
                _ADOPT[:] = [(got.blocks, got.config.virtual_servers, got.cuts)]
    except snapshot.SnapshotError as exc:
        got, why = None, str(exc)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        got = None
    if not isinstance(got, Verdict):
        await _discard(judge)  # what it holds may no longer be what this process holds
        return Verdict(None, [f"{path}: error: the judge failed: {why}"])
    for line in got.warnings:
        log.warning("%s", line)
    if not _kept(snapshot.DECODER.config):
        await _discard(judge)
    return got


def _kept(running) -> bool:
    """Whether the judge stays for the next reload: when the config has virtual servers, whose
    blocks make the heap a forked judge copies grow (2,000 x 20: 51 MB private in a kept judge,
    7.8 s of page faults a reload in a judge forked each time, in UML).  A config of VRRP
    instances alone is small: a judge forked per reload costs little, a kept one a process
    (~25 MB RSS) beside a daemon of two."""
    return running is not None and bool(running.virtual_servers)


def start_judge(path: str, lb_backend: bool = True) -> None:
    """Fork the judge now (after a start) if it is to be kept (``_kept``) and have it judge
    ``path`` once, the answer dropped: the first reload then finds its copy of this process's
    memory made already, off the loop, while nothing waits for it."""
    if _kept(snapshot.DECODER.config):
        with contextlib.suppress(OSError):
            _judge_for(lb_backend, warm=path)


# The judge of this process's reloads, forked once and kept: on a one-CPU guest (UML) each
# page a forked process first writes costs a fault, and a judge forked per reload wrote to
# every page of the config (reference counts): 7.8 s a reload at 1,000 x 20, against 0.07 s
# for the same judgment in a process that has its pages already.
_JUDGES: list[Judge] = []
# the last accepted verdict's blocks, adopted into this process's cache (config/blocks.py)
# only before another judge is forked: the kept judge has them already
_ADOPT: list[tuple] = []


class Judge:
    """A forked judge process: requests and answers are length-prefixed pickles over two pipes,
    one request at a time (the daemon's and the supervisor's reload locks)."""

    def __init__(self, pid: int, wfd: int, rfd: int, lb_backend: bool) -> None:
        self.pid, self.wfd, self.rfd, self.lb_backend = pid, wfd, rfd, lb_backend

    async def ask(self, path: str, lb_backend: bool, holds: bytes | None) -> bytes:
        _write_frame(self.wfd, pickle.dumps((path, lb_backend, holds), protocol=pickle.HIGHEST_PROTOCOL))
        return await _read_frame(self.rfd)

    def alive(self) -> bool:
        """False once it has exited (killed while idle, say): reaped here, the next one forked."""
        try:
            return not os.waitpid(self.pid, os.WNOHANG)[0]
        except ChildProcessError:
            return False

    def close(self) -> None:
        for fd in (self.wfd, self.rfd):
            with contextlib.suppress(OSError):
                os.close(fd)


def _judge_for(lb_backend: bool, warm: str | None = None) -> Judge:
    if _JUDGES and _JUDGES[0].lb_backend == lb_backend and _JUDGES[0].alive():
        return _JUDGES[0]
    while _JUDGES:  # one judge a process: a caller asking with another lb_backend gets its own
        judge = _JUDGES.pop()
        judge.close()  # it reads the end of its requests and leaves; reaped at the next fork
        _REAPING.append(judge.pid)
    for keyed, values, cuts in _ADOPT:  # what the judge that is gone had: the new one starts with it
        blocks().adopt(keyed, values, cuts)
    _ADOPT.clear()
    judge = _fork_judge(lb_backend, warm)
    _JUDGES.append(judge)
    return judge


_REAPING: list[int] = []  # judges told to leave (their requests' pipe closed), reaped when done


async def _discard(judge: Judge, kill: bool = True) -> int:
    """Kill ``judge`` (our own child, by its pid) and reap it; its exit status."""
    if judge in _JUDGES:
        _JUDGES.remove(judge)
    if kill:
        with contextlib.suppress(ProcessLookupError):
            os.kill(judge.pid, signal.SIGKILL)
    judge.close()
    return await _reap(judge.pid)


def _fork_judge(lb_backend: bool, warm: str | None = None) -> Judge:
    """The child touches nothing of ours: no loop, no logging, default signal dispositions; it
    answers each request on its pipe until that pipe closes (or this process is gone), then
    leaves with os._exit."""
    for pid in list(_REAPING):
        with contextlib.suppress(ChildProcessError):
            if not os.waitpid(pid, os.WNOHANG)[0]:
                continue
        _REAPING.remove(pid)
    req_r, req_w = os.pipe()
    ans_r, ans_w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        code = 70
        try:
            signal.set_wakeup_fd(-1)  # our loop's: a signal to the judge must not wake it
            _close_all_but(req_r, ans_w)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
                signal.signal(sig, signal.SIG_DFL)
            with contextlib.suppress(OSError, AttributeError):  # not a real-time parse (vrrp_rt_priority)
                os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
            os.nice(10)  # the daemon that asks keeps the CPU first
            if warm is not None:
                with contextlib.suppress(Exception):  # what it reports is the first reload's to say
                    judge_file(warm, lb_backend=lb_backend)
            _serve(req_r, ans_w, parent)
            code = 0
        finally:
            os._exit(code)
    os.close(req_r)
    os.close(ans_w)
    os.set_blocking(ans_r, False)
    return Judge(pid, req_w, ans_r, lb_backend)


def _close_all_but(*keep: int) -> None:  # pragma: no cover (the child)
    """Close what the judge inherited beyond stdio and its pipes: a kept judge holding the daemon's
    sockets would keep a listener bound, a multicast group joined, after the daemon closed them."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _serve(req_r: int, ans_w: int, parent: int) -> None:  # pragma: no cover (the child)
    """Answer requests until the pipe closes; a process forked without exec after us may hold
    its write end too, so the parent's exit is watched for as well."""
    while True:
        ready, _w, _x = select.select([req_r], [], [], 5.0)
        if not ready:
            if os.getppid() != parent:
                return
            continue
        try:
            request = _read_frame_blocking(req_r)
        except EOFError:
            return
        path, lb_backend, holds = pickle.loads(request)  # noqa: S301 (our parent's)
        _write_frame(ans_w, verdict_bytes(path, lb_backend=lb_backend, parent_holds=holds))


_HEADER = struct.Struct("!Q")


def _write_frame(fd: int, data: bytes) -> None:
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_frame_blocking(fd: int) -> bytes:  # pragma: no cover (the child)
    def exactly(n: int) -> bytes:
        chunks, left = [], n
        while left:
            got = os.read(fd, min(left, 1 << 20))
            if not got:
                raise EOFError
            chunks.append(got)
            left -= len(got)
        return b"".join(chunks)

    return exactly(_HEADER.unpack(exactly(_HEADER.size))[0])


async def _read_frame(fd: int) -> bytes:
    """One answer, read as the fd becomes readable (this loop keeps running meanwhile)."""
    loop = asyncio.get_running_loop()
    buf, need, done = bytearray(), [None], loop.create_future()

    def readable() -> None:
        try:
            while True:
                want = _HEADER.size if need[0] is None else need[0] - len(buf)
                chunk = os.read(fd, want)
                if not chunk:
                    raise OSError(0, "the judge closed its answer pipe")
                buf.extend(chunk)
                if need[0] is None and len(buf) >= _HEADER.size:
                    need[0] = _HEADER.unpack(bytes(buf[:_HEADER.size]))[0] + _HEADER.size
                if need[0] is not None and len(buf) >= need[0]:
                    done.set_result(bytes(buf[_HEADER.size:need[0]]))
                    return
        except BlockingIOError:
            return
        except OSError as err:
            if not done.done():
                done.set_exception(err)

    loop.add_reader(fd, readable)
    try:
        return await done
    finally:
        loop.remove_reader(fd)


async def _reap(pid: int) -> int:
    """The judge's exit status (negative: the signal); polled, so no thread of ours waits on it."""
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped by someone else (a child watcher reaping all)
            return 0
        if done:
            return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else \
                (-(status & 0x7F) if status & 0x7F else status >> 8)
        await asyncio.sleep(0.005)
