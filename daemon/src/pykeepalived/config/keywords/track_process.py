"""``vrrp_track_process`` blocks and the ``track_process { NAME [weight N [reverse]] }`` of
vrrp_instance (keepalived.conf(5), "VRRP track processes").

Kept apart from keywords/vrrp.py: this module adds its keyword to VRRP_INSTANCE itself.
"""

from __future__ import annotations

from ..build import collect, require
from ..errors import ConfigError, Diagnostics
from ..grammar import BlockSpec, Statement
from ..model_track_process import TrackProcess
from . import vrrp
from .common import arg, choice, flag_kw, in_range, integer, kw, number, parse_int

PROCESS_WEIGHT = (-254, 254)


def _process(stmt: Statement, _d: Diagnostics) -> tuple[str, ...]:
    return tuple(tok.text for tok in stmt.args)


def _weight(stmt: Statement, _d: Diagnostics) -> tuple[int, bool]:
    """``weight N [reverse|noreverse]`` within -254..254."""
    value = parse_int(arg(stmt))
    lo, hi = PROCESS_WEIGHT
    if not lo <= value <= hi:
        raise ConfigError(f"{value} out of range {lo}..{hi}", arg(stmt).loc)
    if len(stmt.args) > 1 and arg(stmt, 1).text not in ("reverse", "noreverse"):
        raise ConfigError(f"expected 'reverse' after the weight, got '{arg(stmt, 1).text}'", arg(stmt, 1).loc)
    return value, len(stmt.args) > 1 and arg(stmt, 1).text == "reverse"


_MATCH = choice("initial", "partial", fold=str.lower)


def _param_match(stmt: Statement, diags: Diagnostics) -> str:
    """``param_match [initial|partial]``; bare: the parameters must be exactly the ones given."""
    return _MATCH(stmt, diags) if stmt.args else "exact"


DELAY = in_range(0, 3600)
VRRP_TRACK_PROCESS = BlockSpec("vrrp_track_process").add(
    kw("process", _process, (1, 64)),
    kw("param_match", _param_match, (0, 1)),
    kw("weight", _weight, (1, 2)),
    kw("quorum", integer, check=in_range(1, 65535)),
    kw("quorum_max", integer, check=in_range(0, 65535)),
    kw("fork_delay", number, check=DELAY),
    kw("terminate_delay", number, check=DELAY),
    kw("delay", number, check=DELAY),
    flag_kw("full_command"),
)


def build_track_process(stmt: Statement, diags: Diagnostics) -> TrackProcess:
    values, locs = collect(stmt, diags)
    require(stmt, values, "process")
    weight, reverse = values.pop("weight", (0, False))
    delay = values.pop("delay", None)
    if delay is not None:  # keepalived: delay sets both; the specific ones win here whatever the order
        values.setdefault("fork_delay", delay)
        values.setdefault("terminate_delay", delay)
    if values.get("quorum_max") == 0 and "quorum" not in values:
        values["quorum"] = 0  # keepalived: quorum_max 0 alone means "up while none runs"
    quorum, quorum_max = values.get("quorum", 1), values.get("quorum_max")
    if quorum_max is not None and quorum_max < quorum:
        raise ConfigError(f"quorum_max {quorum_max} is below quorum {quorum}: the process could never be up",
                          locs.get("quorum_max", stmt.loc))
    return TrackProcess(name=arg(stmt).text, weight=weight, weight_reverse=reverse, **values,
                        loc=stmt.loc, locs=locs)


TRACK_PROCESS_REF = kw("track_process", vrrp._track_items(PROCESS_WEIGHT), (0, 0), block=vrrp.TRACK_ITEM)
vrrp.VRRP_INSTANCE.add(TRACK_PROCESS_REF)
vrrp.VRRP_SYNC_GROUP.add(TRACK_PROCESS_REF)  # added to every member (config/sync_tracking.py)
