"""global_defs' socket receive buffer knobs (keepalived's ``*_rcv_bufs``, ``vrrp_rx_bufs_*``).

Each ``NAME_rcv_bufs BYTES`` sizes the socket NAME names with SO_RCVBUF, or with
SO_RCVBUFFORCE (beyond net.core.rmem_max) when ``NAME_rcv_bufs_force`` is on;
where they are applied: net/rcvbuf.py.  ``vrrp_rx_bufs_policy`` sizes the VRRP
sockets from their instances (vrrp/rxbufs.py).
"""

from __future__ import annotations

from ..errors import ConfigError, Diagnostics, shown
from ..grammar import IGNORED, Statement
from .common import arg, bool_kw, in_range, integer, kw, optional_bool, parse_int

# the sockets keepalived names, each with its SIZE keyword and its _force one
NETLINK_SOCKETS = ("vrrp_netlink_cmd", "vrrp_netlink_monitor", "process_monitor")
# keepalived's checker process' rtnetlink sockets: ours has none (it reads no link or address
# events; IPVS is generic netlink, which keepalived does not size with these either)
CHECKER_SOCKETS = ("lvs_netlink_cmd", "lvs_netlink_monitor")
MAX_BUF = 2**31 - 1  # setsockopt's int


def _size(stmt: Statement, _d: Diagnostics) -> object:
    """``NAME_rcv_bufs BYTES``; 0 leaves the default (keepalived reads it so)."""
    tok = arg(stmt)
    value = parse_int(tok, "a number of bytes")
    if not 0 <= value <= MAX_BUF:
        raise ConfigError(f"{value} out of range 0-{MAX_BUF}", tok.loc)
    return value or IGNORED


def _policy(stmt: Statement, _d: Diagnostics) -> str | int:
    """``vrrp_rx_bufs_policy MTU|ADVERT|BYTES``: per instance on a socket, multiplier x its
    interface's MTU, multiplier x its advert's length, or BYTES (keepalived's three policies;
    it refuses two of them together, so do we)."""
    if len(stmt.args) > 1:
        raise ConfigError("takes one of MTU, ADVERT or a size in bytes (keepalived ignores all but one)",
                          stmt.args[1].loc)
    tok = arg(stmt)
    if tok.text.upper() in ("MTU", "ADVERT"):
        return tok.text.upper()
    if not tok.text.isdigit():
        raise ConfigError(f"expected MTU, ADVERT or a size in bytes, got '{shown(tok.text)}'", tok.loc)
    value = parse_int(tok, "a size in bytes")
    if not 0 < value <= MAX_BUF:
        raise ConfigError(f"{value} out of range 1-{MAX_BUF}", tok.loc)
    return value


def _no_socket(convert):
    def checked(stmt: Statement, diags: Diagnostics) -> object:
        convert(stmt, diags)  # a bad value is still an error
        diags.warning(stmt.loc, f"{stmt.name}: pykeepalived's checker child has no rtnetlink socket "
                      "(keepalived's follows links and addresses): nothing to size")
        return IGNORED
    return checked


def keywords() -> list:
    out = []
    for name in NETLINK_SOCKETS:
        out += [kw(f"{name}_rcv_bufs", _size), bool_kw(f"{name}_rcv_bufs_force")]
    for name in CHECKER_SOCKETS:
        out += [kw(f"{name}_rcv_bufs", _no_socket(_size)), kw(f"{name}_rcv_bufs_force", _no_socket(optional_bool),
                                                              (0, 1))]
    return out + [kw("vrrp_rx_bufs_policy", _policy, (1, 3)),
                  kw("vrrp_rx_bufs_multiplier", integer, check=in_range(1, MAX_BUF))]
