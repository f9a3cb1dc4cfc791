"""``vrrp_track_process NAME { ... }``: VRRP priority or FAULT from the number of matching processes."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Location
from .model_vrrp import _loc, _locs


@dataclass
class TrackProcess:
    """keepalived.conf(5), "VRRP track processes".

    ``process`` is the name then the parameters; with parameters, ``param_match``
    or ``full_command`` the command line is matched, else the process name
    (``/proc/PID/comm``).  Parameters without ``param_match`` are matched
    exactly; ``full_command`` alone compares the program only.  Up while
    ``quorum`` <= count <= ``quorum_max``.
    """

    name: str
    process: tuple[str, ...]
    param_match: str | None = None  # None | "exact" | "initial" | "partial"
    weight: int = 0
    weight_reverse: bool = False
    quorum: int = 1
    quorum_max: int | None = None  # None: unlimited
    fork_delay: float = 0.0
    terminate_delay: float = 0.0
    full_command: bool = False
    loc: Location = _loc()
    locs: dict[str, Location] = _locs()

    @property
    def cmdline_match(self) -> bool:
        return len(self.process) > 1 or self.param_match is not None or self.full_command
