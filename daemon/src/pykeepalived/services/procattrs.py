"""Process-wide attributes from global_defs (keepalived 2.2's): ``umask`` and the process names.

``umask``: set by the process that reads the config before it writes anything (its pid
file); children, scripts and every file after inherit it. Without the keyword the umask
the daemon was started with stays (keepalived sets 022 then).
Names (``prctl(PR_SET_NAME)``, what ps, top and /proc/PID/comm show): ``process_name`` for
the parent, ``vrrp_process_name`` / ``checker_process_name`` for the children, set as each
starts; ``process_names`` gives the children keepalived's own names. Both at start only:
a reload changes neither (keepalived names a child when it starts it, too).
"""
from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger("pykeepalived.services.procattrs")

PR_SET_NAME = 15  # linux/prctl.h
TASK_COMM_LEN = 16  # with its NUL
DEFAULT_NAMES = {"vrrp": "keepalived_vrrp", "checker": "keepalived_lvs", "bfd": "keepalived_bfd"}  # keepalived 2.2.7's process_names


def name_for(global_defs, role: str) -> str | None:
    """The name of the ``role`` process (``parent``, ``vrrp``, ``checker``, ``bfd``); None: leave it."""
    if role == "parent":
        return global_defs.process_name
    own = getattr(global_defs, f"{role}_process_name")
    return own if own is not None else DEFAULT_NAMES[role] if global_defs.process_names else None


def set_name(name: str | None) -> None:
    if name is None:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()), 0, 0, 0) != 0:
        log.error("cannot set the process name '%s': %s", name, os.strerror(ctypes.get_errno()))


def apply_start(global_defs, role: str, *, umask: bool) -> None:
    """What the ``role`` process sets when it starts: its name, and with ``umask`` (the parent,
    or a child run without one) the umask."""
    if umask and global_defs.umask is not None:
        os.umask(global_defs.umask)
    set_name(name_for(global_defs, role))
