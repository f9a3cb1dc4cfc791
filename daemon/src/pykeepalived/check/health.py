"""The daemon's entry point to health checking: a Config in, real-server state changes out.

A real server is alive when every one of its checkers is UP (keepalived:
no failed checkers); one without checkers is always alive.  Its weight is the
configured weight, moved by each misc_dynamic result (keepalived adds
``status - 2 - weight`` per dynamic checker).  Real-server transitions run
notify_up / notify_down, write ``RS`` fifo lines and send smtp alerts.

Quorum is not decided here: it belongs to the load-balancing plane
(``lb.desired``), which also sees drains, operator weights and hysteresis;
``lb.loop`` turns its events into quorum scripts, ``VS`` lines and mails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from ..config.model import Config
from ..config.model_lvs import RealServer, VirtualServer
from ..services.smtp import Mailer
from .bfd import EventSource
from .build import build_checkers
from .http import files_key
from .notify import CheckNotifier, format_rs, format_vs
from .scheduler import Job, Scheduler

log = logging.getLogger(__name__)

OnChange = Callable[[VirtualServer, RealServer, bool, int], None]


@dataclass
class RsHealth:
    """What the daemon knows about one real server of one virtual server."""

    vs: VirtualServer
    rs: RealServer
    jobs: list[Job] = field(default_factory=list)
    up: bool = True
    weight: int = 0

    def evaluate(self) -> tuple[bool, int]:
        up = all(job.state.up for job in self.jobs)
        weight = self.rs.weight + sum(job.state.weight - self.rs.weight for job in self.jobs
                                      if job.state.weight is not None)
        return up, max(weight, 0)


class HealthChecker:
    """Runs every checker of a Config; reports real-server changes through ``on_change``.

    ``on_change(vs, rs, up, weight)`` is called once for each real server when it
    first appears (its initial state: UP unless alpha) and after every change of
    ``up`` or ``weight``.  The notifier belongs to the caller (who closes it).
    """

    def __init__(self, on_change: OnChange | None = None, notifier: CheckNotifier | None = None,
                 scheduler: Scheduler | None = None, bfd: EventSource | None = None) -> None:
        self.on_change = on_change
        self.bfd = bfd  # BFD_CHECK's session events (check/bfd.py)
        self.notifier = notifier
        self.scheduler = scheduler or Scheduler()
        self.servers: dict[tuple, RsHealth] = {}
        # id(virtual server) -> (it, its servers' keys, their entries): one a reload hands over as
        # the same object (core/snapshot.py) keeps its entries as they are, unwalked
        self._of_vs: dict[int, tuple[VirtualServer, list[tuple], list[RsHealth]]] = {}
        self._track_files: object = None
        self._ssl_key: tuple | None = None
        self.log_all_failures = False  # global_defs checker_log_all_failures
        self.init_notifies = False  # global_defs rs_init_notifies

    def load(self, config: Config) -> None:
        """Start (or, on reload, diff to) ``config``; must run inside the event loop.

        A checker whose ``compare()`` and timers are unchanged keeps its state and its timer.
        """
        old_servers, old_of = self.servers, self._of_vs
        self.log_all_failures = config.global_defs.checker_log_all_failures
        self.init_notifies = config.global_defs.rs_init_notifies
        # FILE_CHECKs read track_files: when those change, every virtual server is built again
        # ... and SSL_GETs the SSL block's files (a renewed certificate: the checkers anew)
        ssl_key = files_key(config.ssl)
        same_files = self._track_files == config.track_files and self._ssl_key == ssl_key
        self._track_files, self._ssl_key = config.track_files, ssl_key
        # the entries of the virtual servers handed over whole stay where they are (one copy at C
        # speed, not one update a block: half of a 2,000 x 20 reload); the others are put over
        # them (a key written again keeps its place), then the keys no block has any more go
        self.servers, self._of_vs = (dict(old_servers) if same_files else {}), {}
        reused: set[int] = set()
        written: set[tuple] = set()
        for vs in config.virtual_servers:
            kept = old_of.get(id(vs)) if same_files else None
            if kept is not None and kept[0] is vs:
                self._of_vs[id(vs)] = kept
                continue
            vkey = vs.key
            keys: list[tuple] = []
            healths: list[RsHealth] = []
            self._of_vs[id(vs)] = (vs, keys, healths)
            for rs in vs.real_servers:
                key = (vkey, rs.key)
                old = old_servers.get(key)
                health = RsHealth(vs, rs, up=old.up if old else True, weight=old.weight if old else rs.weight)
                for checker, tim in (pair for model in rs.checkers
                                     for pair in build_checkers(model, rs, vs, config.track_files, self.bfd, config.ssl)):
                    job = next((j for j in (old.jobs if old else ()) if id(j) not in reused
                                and j.checker.compare(checker) and j.state.timing == tim), None)
                    if job is not None:
                        reused.add(id(job))
                        self.scheduler.adopt(job, self._on_result_for(key))
                    else:
                        job = self.scheduler.add(checker, tim, self._on_result_for(key))
                    health.jobs.append(job)
                self.servers[key] = health
                written.add(key)
                keys.append(key)
                healths.append(health)
                if old is None:
                    health.up, health.weight = health.evaluate()
                    self._emit(health)
                    if health.up and self.init_notifies and self.notifier is not None:
                        self.notifier.rs_changed(vs, rs, True, mail=False)  # keepalived: script and fifo
                else:
                    self._update(health)
        for vid, (_vs, keys_of_vs, healths) in old_of.items():
            if self._of_vs.get(vid) is old_of[vid]:  # kept whole, its jobs with it
                continue
            for key in keys_of_vs:
                if key not in written:
                    self.servers.pop(key, None)
            for old in healths:
                for job in old.jobs:
                    if id(job) not in reused:
                        self.scheduler.remove(job)

    async def stop(self) -> None:
        """Stop all checkers; with ``omega``, announce alive servers as DOWN (quorum: the plane's)."""
        await self.scheduler.close()
        if self.notifier is not None:
            for health in self.servers.values():
                if health.vs.omega and health.up:
                    self.notifier.rs_changed(health.vs, health.rs, False, stopping=True)

    def status(self) -> list[dict]:
        """One entry per real server (for the control socket and data dumps)."""
        return [{"virtual_server": format_vs(h.vs), "real_server": format_rs(h.rs, h.vs), "up": h.up,
                 "weight": h.weight,
                 "checkers": [{"kind": j.checker.kind, "up": j.state.up, "retry": j.state.retry_it,
                               "runs": j.runs, "last": j.state.last.reason if j.state.last else None}
                              for j in h.jobs]}
                for h in self.servers.values()]

    def _on_result_for(self, key: tuple) -> Callable:
        def on_result(job: Job, result, changed: bool) -> None:
            health = self.servers.get(key)
            if health is None:
                return
            if changed:
                log.info("%s %s on %s: %s", job.checker.kind, "UP" if job.state.up else "DOWN",
                         format_rs(health.rs, health.vs), result.reason)
            elif not result.ok and job.state.up and (job.state.timing.log_all_failures or self.log_all_failures):
                log.info("%s on %s failed (still UP): %s", job.checker.kind, format_rs(health.rs, health.vs),
                         result.reason)
            self._update(health)
        return on_result

    def _update(self, health: RsHealth) -> None:
        up, weight = health.evaluate()
        if (up, weight) == (health.up, health.weight):
            return
        up_changed = up != health.up
        health.up, health.weight = up, weight
        self._emit(health)
        if up_changed and self.notifier is not None:
            self.notifier.rs_changed(health.vs, health.rs, up)

    def _emit(self, health: RsHealth) -> None:
        if self.on_change is not None:
            self.on_change(health.vs, health.rs, health.up, health.weight)


def notifier_for(config: Config, mailer: Mailer | None = None) -> CheckNotifier:
    """Scripts, the fifos global_defs names for checker events (notify_fifo, lvs_notify_fifo), smtp_alert."""
    gd = config.global_defs
    readers = {gd.lvs_notify_fifo: gd.lvs_notify_fifo_script} if gd.lvs_notify_fifo and gd.lvs_notify_fifo_script else {}
    return CheckNotifier(fifo_paths(config), mailer=mailer, fifo_scripts=readers)


def fifo_paths(config: Config) -> tuple[str, ...]:
    gd = config.global_defs
    return tuple(p for p in (gd.notify_fifo, gd.lvs_notify_fifo) if p)
