"""Tracking: vrrp_script results and link states turned into priority and FAULT.

keepalived's rules (keepalived.conf(5), vrrp_track.c):

* weight 0 (or an interface tracked without weight): the instance goes to
  FAULT while the object is down;
* weight > 0: added to the priority while the object is up;
* weight < 0: added (so subtracted) while the object is down;
* ``reverse`` (``weight N reverse``) negates the weight.

A vrrp_script is up after ``rise`` consecutive successes (exit 0) and down
after ``fall`` consecutive failures (non-zero exit, or ``timeout``); it
starts up, or down with ``init_fail``.  The effective priority is clamped
to 1..254 by the state machine.
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from ..config.model_bfd import BfdInstance
from ..config.model_vrrp import TrackFile, VrrpScript
from ..services.notify import run_script

log = logging.getLogger(__name__)


@dataclass
class Tracked:
    """One tracked object as one instance sees it."""

    name: str
    weight: int  # 0: FAULT when down
    up: bool = True

    @property
    def fault(self) -> bool:
        return self.weight == 0 and not self.up

    @property
    def delta(self) -> int:
        if self.weight > 0 and self.up:
            return self.weight
        if self.weight < 0 and not self.up:
            return self.weight
        return 0


@dataclass
class FileTracked(Tracked):
    """A track_file as one instance sees it: the file's number times the weight (keepalived.conf(5)).

    Weight 0: a non-zero value is a failure (FAULT), zero is OK.  Otherwise
    value x weight is added to the priority; below -253 means FAULT.
    """

    value: int = 0

    @property
    def fault(self) -> bool:
        if self.weight == 0:
            return self.value != 0
        return self.value * self.weight < -FILE_LIMIT

    @property
    def delta(self) -> int:
        if self.weight == 0 or self.fault:
            return 0
        return min(self.value * self.weight, FILE_LIMIT)


FILE_LIMIT = 253  # keepalived: -253..253 moves the priority, below -253 is FAULT


def effective(base: int, tracked: list[Tracked]) -> tuple[int, bool]:
    """(priority, fault) from the configured priority and the tracked objects."""
    return base + sum(t.delta for t in tracked), any(t.fault for t in tracked)


def _subscribe(listeners: list, callback: Callable) -> Callable[[], None]:
    listeners.append(callback)

    def unsubscribe() -> None:
        if callback in listeners:
            listeners.remove(callback)
    return unsubscribe


class ScriptTracker:
    """Runs one vrrp_script every ``interval`` and reports changes of its up/down state."""

    def __init__(self, spec: VrrpScript) -> None:
        self.spec = spec
        self.up = not spec.init_fail
        self._streak = 0  # consecutive results contradicting ``up``
        self._listeners: list[Callable[[bool], None]] = []
        self._task: asyncio.Task | None = None

    def listen(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        """Subscribe; returns the unsubscribe (a kept tracker outlives the instances of a reload)."""
        return _subscribe(self._listeners, callback)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def result(self, ok: bool) -> None:
        """Feed one run's outcome (separate from the loop so it can be tested)."""
        if ok == self.up:
            self._streak = 0
            return
        self._streak += 1
        if self._streak >= (self.spec.rise if ok else self.spec.fall):
            self.up, self._streak = ok, 0
            log.info("vrrp_script %s now %s", self.spec.name, "up" if ok else "down")
            for callback in list(self._listeners):
                callback(ok)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        timeout = self.spec.timeout or self.spec.interval
        while True:
            started = loop.time()
            rc = await run_script(self.spec.script.argv, timeout, user=self.spec.script.user,
                                  group=self.spec.script.group)
            self.result(rc == 0)
            await asyncio.sleep(max(0.0, self.spec.interval - (loop.time() - started)))


def parse_track_value(text: str) -> int:
    """The number at the start of a track file (keepalived reads it with strtol; junk is 0)."""
    word = text.split()[0] if text.split() else "0"
    try:
        return int(word)
    except ValueError:
        return 0


class FileTracker:
    """Watches one track_file (by mtime and size, every ``period`` s) and reports its value.

    keepalived uses inotify; a stat() poll is cheap and needs no extra thread.
    """

    def __init__(self, spec: TrackFile, period: float = 0.5) -> None:
        self.spec, self.period = spec, period
        if spec.init_file and not os.path.exists(spec.file):
            with open(spec.file, "w") as f:  # keepalived's init_file: VALUE defaults to 0
                f.write("0\n")
        self._stamp: tuple[int, int] | None = None
        self.value = self.read()
        self._listeners: list[Callable[[int], None]] = []
        self._task: asyncio.Task | None = None

    def read(self) -> int:
        try:
            st = os.stat(self.spec.file)
            self._stamp = (st.st_mtime_ns, st.st_size)
            with open(self.spec.file) as f:
                return parse_track_value(f.read(64))
        except OSError:
            self._stamp = None
            return 0

    def listen(self, callback: Callable[[int], None]) -> Callable[[], None]:
        """Subscribe; returns the unsubscribe (a kept tracker outlives the instances of a reload)."""
        return _subscribe(self._listeners, callback)

    def poll(self) -> None:
        """Re-read the file when it changed; tell the listeners when its value did."""
        try:
            st = os.stat(self.spec.file)
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp == self._stamp:
            return
        value = self.read()
        if value != self.value:
            self.value = value
            log.info("track_file %s now %d", self.spec.name, value)
            for callback in list(self._listeners):
                callback(value)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            self.poll()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def file_weight(spec: TrackFile, ref_weight: int | None, ref_reverse: bool) -> int:
    weight = spec.weight if ref_weight is None else ref_weight
    return -weight if (ref_reverse or spec.weight_reverse) else weight


def script_weight(spec: VrrpScript, ref_weight: int | None, ref_reverse: bool) -> int:
    weight = spec.weight if ref_weight is None else ref_weight
    return -weight if (ref_reverse or spec.weight_reverse) else weight


def bfd_weight(spec: BfdInstance, ref_weight: int | None, ref_reverse: bool) -> tuple[int, bool]:
    """(weight, invert) of a track_bfd: the instance's weight wins over the bfd_instance's;
    ``reverse`` negates it, and with weight 0 faults while the session is up (keepalived 2.2.7)."""
    weight = spec.weight if ref_weight is None else ref_weight
    reverse = ref_reverse or spec.weight_reverse
    return (-weight if reverse else weight), (reverse and weight == 0)
