"""``bfd_instance`` blocks (keepalived.conf(5), "BFD instance"), ``track_bfd`` in
vrrp_instance and ``BFD_CHECK`` in real_server.  Ranges and defaults are keepalived
2.2.7's (keepalived/bfd/bfd_parser.c, keepalived/check/check_bfd.c).

Kept apart from keywords/vrrp.py: this module adds its keyword to VRRP_INSTANCE itself
(BFD_CHECK's spec is listed with the other checkers in keywords/checkers.py).
"""

from __future__ import annotations

from ..build import collect, require
from ..errors import ConfigError, Diagnostics
from ..grammar import BlockSpec, Statement
from ..model_bfd import BfdCheck, BfdInstance
from . import vrrp
from .common import arg, bool_kw, flag, in_range, integer, ip, kw, parse_float, parse_int, text

BFD_WEIGHT = (-253, 253)
MAX_MS = 2**32 // 1000 - 1  # keepalived keeps microseconds in 32 bits
SENSIBLE_MS = 10_000


def _interval(lo: int) -> object:
    """Milliseconds with at most three decimals (keepalived keeps microseconds)."""

    def convert(stmt: Statement, diags: Diagnostics) -> float:
        tok = arg(stmt)
        value = parse_float(tok)
        if "." in tok.text and len(tok.text.split(".", 1)[1]) > 3:
            raise ConfigError(f"'{tok.text}': at most three decimals (microseconds)", tok.loc)
        if not lo <= value <= MAX_MS:
            raise ConfigError(f"{tok.text} ms out of range {lo}..{MAX_MS}", tok.loc)
        if value > SENSIBLE_MS:
            diags.warning(tok.loc, f"{stmt.name} {tok.text} ms is longer than {SENSIBLE_MS} ms (keepalived warns too)")
        return value

    return convert


def _weight(stmt: Statement, _d: Diagnostics) -> tuple[int, bool]:
    """``weight N [reverse]`` within -253..253."""
    value = parse_int(arg(stmt))
    lo, hi = BFD_WEIGHT
    if not lo <= value <= hi:
        raise ConfigError(f"{value} out of range {lo}..{hi}", arg(stmt).loc)
    if len(stmt.args) > 1 and arg(stmt, 1).text != "reverse":
        raise ConfigError(f"expected 'reverse' after the weight, got '{arg(stmt, 1).text}'", arg(stmt, 1).loc)
    return value, len(stmt.args) > 1


BFD_INSTANCE = BlockSpec("bfd_instance").add(
    kw("neighbor_ip", ip),
    kw("neighbour_ip", ip, field="neighbor_ip"),
    kw("source_ip", ip),
    kw("min_rx", _interval(1)),
    kw("min_tx", _interval(1)),
    kw("idle_tx", _interval(1000)),
    kw("multiplier", integer, check=in_range(1, 255)),
    kw("passive", flag, (0, 0)),
    kw("ttl", integer, check=in_range(1, 255)),
    kw("hoplimit", integer, field="ttl", check=in_range(1, 255)),
    kw("max_hops", integer, check=in_range(-1, 255)),
    bool_kw("multihop"),
    kw("weight", _weight, (1, 2)),
    kw("vrrp", flag, (0, 0)),  # which children hear this session's events (neither: both)
    kw("checker", flag, (0, 0)),
)


def build_bfd_instance(stmt: Statement, diags: Diagnostics) -> BfdInstance:
    values, locs = collect(stmt, diags)
    require(stmt, values, "neighbor_ip")
    vrrp_only, checker_only = values.pop("vrrp", False), values.pop("checker", False)
    if vrrp_only or checker_only:
        values["for_vrrp"], values["for_checker"] = vrrp_only, checker_only
    weight, reverse = values.pop("weight", (0, False))
    src, nbr = values.get("source_ip"), values["neighbor_ip"]
    if src is not None and src.version != nbr.version:
        raise ConfigError(f"source_ip {src} and neighbor_ip {nbr} are not of the same family",
                          locs["source_ip"])
    inst = BfdInstance(name=arg(stmt).text, weight=weight, weight_reverse=reverse, **values, loc=stmt.loc, locs=locs)
    if inst.max_hops > inst.effective_ttl:
        diags.warning(locs["max_hops"], f"max_hops {inst.max_hops} exceeds the ttl {inst.effective_ttl}: "
                      "using the ttl (as keepalived)")
        inst.max_hops = inst.effective_ttl
    return inst


TRACK_BFD_REF = kw("track_bfd", vrrp._track_items(BFD_WEIGHT), (0, 0), block=vrrp.TRACK_ITEM)
vrrp.VRRP_INSTANCE.add(TRACK_BFD_REF)


BFD_CHECK = BlockSpec("BFD_CHECK").add(
    kw("name", text),
    bool_kw("alpha"),
)


def build_bfd_check(stmt: Statement, diags: Diagnostics) -> BfdCheck:
    """``BFD_CHECK { name BFD alpha }``: keepalived 2.2.7 has these two keywords and no other."""
    values, locs = collect(stmt, diags)
    require(stmt, values, "name")
    return BfdCheck(**values, loc=stmt.loc, locs=locs)
