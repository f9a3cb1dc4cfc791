# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client of the daemon's control socket (``RUNTIME_DIR/control.sock``): one JSON
request per line, one JSON reply per line, protocol version 1 (the daemon's
``core/control.py`` documents the commands).

A stdlib copy of the daemon's own client (``core/client.py``: VERSION,
SOCKET_NAME, ``encode``, ``decode``) and of its virtual-server naming rule
(``VirtualServer.key``, config/model_lvs.py): modules cannot import the daemon.
tests/unit/test_contracts.py runs both clients against the daemon's server and
keeps the copies equal."""

from __future__ import annotations

import json
import os
import socket
import stat

SOCKET_NAME = "control.sock"
VERSION = 1


class ControlError(Exception):
    """The daemon refused the request, or could not be reached."""


def socket_path(runtime_dir):
    return os.path.join(runtime_dir, SOCKET_NAME)


def available(runtime_dir):
    """True when a daemon's control socket exists (the daemon is running)."""
    path = socket_path(runtime_dir)
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def encode(req):
    """One request line; ``v`` is always ours."""
    return json.dumps({**req, "v": VERSION}).encode() + b"\n"


def request(runtime_dir, cmd, args=None, timeout=10.0):
    """Send one command (with ``args``) and return its ``result``; ControlError when it fails.
    ``timeout`` bounds the socket wait, so it must exceed a ``wait-drain``'s own timeout."""
    line = encode(dict(args or {}, cmd=cmd))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(socket_path(runtime_dir))
        sock.sendall(line)
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError as exc:
        raise ControlError(f"control socket {socket_path(runtime_dir)}: {exc}") from exc
    finally:
        sock.close()
    try:
        reply = json.loads(data.decode())
    except ValueError as exc:
        raise ControlError(f"control socket: unreadable reply {data[:200]!r}") from exc
    if not reply.get("ok"):
        raise ControlError(f"daemon refused {cmd}: {reply.get('error')}")
    return reply.get("result")


def virtual_server_key(protocol, address=None, port=None, fwmark=None, group=None):
    """The daemon's name for a virtual server: ``PROTO IP:PORT``, ``PROTO [IPv6]:PORT``,
    ``PROTO fwmark N`` or ``PROTO group NAME`` (the daemon's ``VirtualServer.key``)."""
    proto = (protocol or "TCP").upper()
    if group is not None:
        return f"{proto} group {group}"
    if fwmark is not None:
        return f"{proto} fwmark {fwmark}"
    host = f"[{address}]" if ":" in str(address) else str(address)
    return f"{proto} {host}:{port}" if port is not None else f"{proto} {host}"


def find_real_server(status, vs_key, address, port):
    """The daemon's status entry for one real server, or None."""
    for vs in ((status or {}).get("lb") or {}).get("virtual_servers") or []:
        if vs.get("virtual_server") != vs_key:
            continue
        for rs in vs.get("real_servers") or []:
            if rs.get("address") == address and rs.get("port") == port:
                return rs
    return None
