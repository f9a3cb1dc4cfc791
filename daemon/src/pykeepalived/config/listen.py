"""``metrics_listen ADDR:PORT`` (global_defs): parsed when the config is read, so a
bad value is a FILE:LINE:COL error of ``-t``, not a failure at start."""
from __future__ import annotations

import ipaddress


def parse_listen(text: str) -> tuple[str, int]:
    """``ADDR:PORT`` or ``[V6ADDR]:PORT`` -> (host, port); ValueError says what is wrong."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"'{text}' is not ADDRESS:PORT (e.g. 127.0.0.1:9650, [::1]:9650)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"'{host}' is not an IP address") from None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"'{port}' is not a port (1..65535)")
    return str(addr), int(port)
