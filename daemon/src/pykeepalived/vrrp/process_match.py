"""vrrp_track_process, the pure part: which processes match, and when the quorum counts as up.

keepalived.conf(5), "VRRP track processes":

* no parameters, no ``param_match``, no ``full_command``: the process name
  (``/proc/PID/comm``, at most 15 characters) equals ``process`` exactly (no
  regular expression: ``ssh`` does not match ``sshd``);
* else the command line (``/proc/PID/cmdline``, its NUL-separated words):
  its program must equal ``process``; its parameters must equal the configured
  ones (given without ``param_match``, or bare ``param_match``: none given means
  none allowed); with ``partial`` the configured ones are its first ones (more
  may follow); with ``initial`` the last configured one may also be the start
  of the command's; ``full_command`` alone checks the program only;
* zombies do not count;
* up while ``quorum <= count <= quorum_max``; a gained quorum counts after
  ``fork_delay``, a lost one after ``terminate_delay`` (a reload's stop/start
  does not bounce the instance); the first count decides at once.

No I/O and no clock here: the adapter (process_watch.py) reads /proc and gives ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.model_track_process import TrackProcess

COMM_LEN = 15  # TASK_COMM_LEN - 1


@dataclass(frozen=True)
class ProcInfo:
    """What the scan read of one process."""

    pid: int
    comm: str
    argv: tuple[str, ...] = ()  # empty unless some tracker matches command lines
    zombie: bool = False


def matches(spec: TrackProcess, proc: ProcInfo) -> bool:
    if proc.zombie:
        return False
    if not spec.cmdline_match:
        return proc.comm == spec.process[0][:COMM_LEN]
    if not proc.argv or proc.argv[0] != spec.process[0]:
        return False
    want, got = spec.process[1:], proc.argv[1:]
    mode = spec.param_match or ("exact" if want else None)
    if mode == "exact":
        return got == want
    if mode is None or not want:  # full_command alone; partial/initial with no parameters
        return True
    if len(got) < len(want):
        return False
    if mode == "partial":
        return got[:len(want)] == want
    return got[:len(want) - 1] == want[:-1] and got[len(want) - 1].startswith(want[-1])


def count(spec: TrackProcess, procs: list[ProcInfo]) -> int:
    return sum(1 for p in procs if matches(spec, p))


def parse_stat(text: str) -> tuple[str, bool]:
    """(comm, zombie) from /proc/PID/stat: ``pid (comm) S ...``; comm may hold ')' and spaces."""
    start, end = text.find("("), text.rfind(")")
    return text[start + 1:end], text[end + 2:end + 3] == "Z"


@dataclass
class Quorum:
    """Up/down of one vrrp_track_process from successive counts, with fork/terminate delays."""

    spec: TrackProcess
    up: bool | None = None  # None until the first count
    pending_since: float | None = None  # when the count started to contradict ``up``
    counted: int = 0

    def in_quorum(self, n: int) -> bool:
        return self.spec.quorum <= n and (self.spec.quorum_max is None or n <= self.spec.quorum_max)

    def feed(self, n: int, now: float) -> bool | None:
        """A new count; the new state when it changed now, else None."""
        self.counted = n
        ok = self.in_quorum(n)
        if self.up is None:
            return self._set(ok)
        if ok == self.up:
            self.pending_since = None
            return None
        if self.pending_since is None:
            self.pending_since = now
        return self.handle_timer(now)

    def delay(self) -> float:
        return self.spec.terminate_delay if self.up else self.spec.fork_delay

    def next_deadline(self) -> float | None:
        return None if self.pending_since is None else self.pending_since + self.delay()

    def handle_timer(self, now: float) -> bool | None:
        deadline = self.next_deadline()
        if deadline is None or now < deadline:
            return None
        return self._set(not self.up)

    def _set(self, up: bool) -> bool:
        self.up, self.pending_since = up, None
        return up
