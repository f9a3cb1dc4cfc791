"""Socket receive buffers as global_defs' ``*_rcv_bufs`` keywords ask (config/keywords/rcvbufs.py).

keepalived's reading: SO_RCVBUF (capped by net.core.rmem_max) or, with ``_force``,
SO_RCVBUFFORCE (needs CAP_NET_ADMIN); the kernel doubles either for its bookkeeping,
so getsockopt reads twice the bytes asked.  A refused force is logged, as keepalived
logs it, and SO_RCVBUF is tried instead.
"""
from __future__ import annotations

import logging
import socket

log = logging.getLogger(__name__)

SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # asm-generic/socket.h


def set_rcvbuf(sock: socket.socket, size: int, force: bool = False, what: str = "socket") -> None:
    """Ask for ``size`` bytes of receive buffer on ``sock``."""
    if force:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
            return
        except PermissionError as err:
            log.warning("%s: cannot set SO_RCVBUFFORCE (%s): SO_RCVBUF, up to net.core.rmem_max", what, err)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    except OSError as err:
        log.warning("%s: cannot set SO_RCVBUF %d: %s", what, size, err)


def apply(sock: socket.socket, setting: tuple[int, bool] | None, what: str) -> None:
    """``setting``: GlobalDefs.rcv_bufs(NAME); None leaves the socket as it was made."""
    if setting is not None:
        set_rcvbuf(sock, setting[0], setting[1], what)
