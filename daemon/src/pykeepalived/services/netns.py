"""keepalived's ``net_namespace NAME``: the daemon runs inside /var/run/netns/NAME.

As keepalived does (core/namespaces.c), the process that reads the config
joins the named network namespace (setns) before it opens a socket, and its
children inherit it; the namespace must exist (``ip netns add NAME``), it is
never created or removed here. keepalived then bind-mounts
/run/keepalived/NAME over /run/keepalived in a private mount namespace so its
pid files are at /run/keepalived/NAME/*.pid seen from outside; pykeepalived
gets the same layout without a mount namespace by putting its runtime dir
(pid files, control socket, snapshot) in RUNTIME_DIR/NAME. Read at start
only: a reload does not move a running daemon (nor does keepalived's).
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

NETNS_DIR = "/var/run/netns"  # ip-netns(8)'s, keepalived's netns_dir
CLONE_NEWNET = 0x40000000


def runtime_dir_for(namespace: str | None, runtime_dir: str) -> str:
    """Where the daemon's runtime files go: a subdirectory per namespace, as keepalived's pid dir."""
    return str(Path(runtime_dir) / namespace) if namespace else runtime_dir


def enter(namespace: str) -> None:
    """Join /var/run/netns/NAMESPACE (this thread and every process started from it); OSError saying why not."""
    path = os.path.join(NETNS_DIR, namespace)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as err:
        raise OSError(err.errno, f"net_namespace {namespace}: cannot open {path}: {err.strerror} "
                      f"(create it with: ip netns add {namespace})") from None
    try:
        _setns(fd)
    except OSError as err:
        raise OSError(err.errno, f"net_namespace {namespace}: setns({path}) failed: {err.strerror}") from None
    finally:
        os.close(fd)


def current_inode() -> int:
    """The network namespace this process is in (its /proc/self/ns/net inode), for tests and logs."""
    return os.stat("/proc/self/ns/net").st_ino


def _setns(fd: int) -> None:
    if hasattr(os, "setns"):  # Python 3.12+
        os.setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def join_for(namespace: str | None, runtime_dir: str) -> str:
    """At start, before any socket: enter ``namespace`` (if any); the runtime dir to use. OSError: why not."""
    if not namespace:
        return runtime_dir
    enter(namespace)
    return runtime_dir_for(namespace, runtime_dir)
