"""A child's own scheduling, from keepalived's global_defs keywords (keepalived.conf(5)).

``{vrrp,checker,bfd}_cpu_affinity`` (sched_setaffinity), ``_priority`` (nice,
setpriority), ``_rt_priority`` (SCHED_RR at 1..99, with SCHED_RESET_ON_FORK so
notify and check scripts run as ordinary processes), ``_rlimit_rttime`` (the
CPU time, in microseconds, the child may use under SCHED_RR without blocking;
set only with a realtime priority; the soft limit is half of it, a SIGXCPU
logged as a warning; at the hard limit the kernel kills the child and the parent
restarts it) and ``_no_swap`` (mlockall: current and
future pages stay in RAM).  Each child applies its role's set once, when it
starts; a reload does not change them (keepalived's behaviour too).  Nothing
here is fatal: a setting the kernel refuses is logged with the keyword's
FILE:LINE:COL and the child runs on without it.
"""
from __future__ import annotations

import ctypes
import logging
import os
import resource
import signal
from dataclasses import dataclass

from ..config.errors import UNKNOWN_LOCATION
from ..config.model_vrrp import GlobalDefs

log = logging.getLogger(__name__)

# microseconds.  keepalived's default is 10000, but this child's start (imports, the first
# apply) and a reload's collection run longer than 10 ms without blocking: the kernel
# killed it at start in every try.  1 s still stops a runaway realtime loop.
RLIMIT_RTTIME_DEFAULT = 1_000_000
MCL_CURRENT, MCL_FUTURE = 1, 2  # sys/mman.h


@dataclass(frozen=True)
class Scheduling:
    role: str  # "vrrp" | "checker" | "bfd": the keywords' prefix
    rt_priority: int | None = None
    nice: int = 0
    no_swap: bool = False
    rlimit_rttime: int | None = None
    cpus: tuple[int, ...] = ()


def for_role(g: GlobalDefs, role: str) -> Scheduling:
    def get(name: str):
        return getattr(g, f"{role}_{name}")
    return Scheduling(role, get("rt_priority"), get("priority"), get("no_swap"), get("rlimit_rttime"),
                      get("cpu_affinity"))


def apply(s: Scheduling, g: GlobalDefs) -> list[str]:
    """Apply ``s`` to this process; one ``FILE:LINE:COL: error: ...`` line per refusal (also logged)."""
    errors: list[str] = []

    def attempt(keyword: str, step) -> None:
        name = f"{s.role}_{keyword}"
        try:
            step()
        except OSError as err:
            line = f"{g.locs.get(name, UNKNOWN_LOCATION)}: error: {name}: {err.strerror or err}"
            log.error("%s (running without it)", line)
            errors.append(line)

    if s.cpus:
        attempt("cpu_affinity", lambda: os.sched_setaffinity(0, s.cpus))
    if s.nice:
        attempt("priority", lambda: os.setpriority(os.PRIO_PROCESS, 0, s.nice))
    if s.rt_priority is not None:
        # the limit first: the child never runs realtime without it
        limit = s.rlimit_rttime or RLIMIT_RTTIME_DEFAULT
        signal.signal(signal.SIGXCPU, _rttime_warning)
        attempt("rlimit_rttime", lambda: resource.setrlimit(resource.RLIMIT_RTTIME, (limit // 2, limit)))
        attempt("rt_priority", lambda: os.sched_setscheduler(
            0, os.SCHED_RR | os.SCHED_RESET_ON_FORK, os.sched_param(s.rt_priority)))
    if s.no_swap:
        attempt("no_swap", _mlockall)
    if not errors and s != Scheduling(s.role):
        log.info("scheduling: %s", describe(s))
    return errors


def describe(s: Scheduling) -> str:
    parts = []
    if s.rt_priority is not None:
        parts.append(f"SCHED_RR {s.rt_priority} (RLIMIT_RTTIME {s.rlimit_rttime or RLIMIT_RTTIME_DEFAULT} us)")
    if s.nice:
        parts.append(f"nice {s.nice}")
    if s.cpus:
        parts.append(f"CPUs {','.join(map(str, s.cpus))}")
    if s.no_swap:
        parts.append("memory locked")
    return ", ".join(parts)


def _mlockall() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mlockall(MCL_CURRENT | MCL_FUTURE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _rttime_warning(_signum: int, _frame: object) -> None:
    log.warning("half of the realtime CPU limit (RLIMIT_RTTIME) used without blocking: "
                "at the limit the kernel kills this child")
