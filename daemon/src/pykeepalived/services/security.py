"""Script security (keepalived's ``enable_script_security`` / ``script_user``).

A script is *unsafe* when non-root could change what runs: the file (after
symlinks) is not owned by root or is group/other-writable, or any directory
on the way from ``/`` to it (for the path as written and for the resolved
one) is not root-owned or is group/other-writable (a sticky /tmp included:
anyone may create files there).  A relative argv[0] is looked up in PATH
as exec would.  ``script_problems(config)`` walks every script of the model
and returns ``FILE:LINE:COL: error|warning: ...`` lines (the script's
``Script.loc``): errors with ``enable_script_security`` (the config is
refused: at start, on reload, by ``-t``), warnings without it.  A
``/bin/sh -c '...'`` command is judged by its interpreter only.

``run_as(script, default)`` -> (user, group) for asyncio's ``user=``/``group=``
(setuid/setgid in the child, no preexec_fn): the script's own
``USER [GROUP]``, else global_defs ``script_user``, else None (the daemon's user).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from ..config.model_vrrp import Script


def unsafe_reason(program: str) -> str | None:
    """Why ``program`` is unsafe to run as root, or None."""
    import shutil  # noqa: PLC0415 - here: the VRRP child needs only run_as (shutil and config.validate: 1 MB)

    path = program if "/" in program else shutil.which(program)
    if path is None:
        return f"'{program}' not found in PATH"
    try:
        st = os.stat(path)
    except OSError as err:
        return f"cannot stat {path}: {err.strerror}"
    real = os.path.realpath(path)
    if st.st_uid != 0:
        return f"{real} is owned by uid {st.st_uid}, not root"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"{real} is writable by {'others' if st.st_mode & stat.S_IWOTH else 'its group'}"
    for start in dict.fromkeys((os.path.abspath(path), real)):
        for parent in Path(start).parents:
            try:
                ds = os.lstat(parent)
                if stat.S_ISLNK(ds.st_mode):
                    ds = os.stat(parent)
            except OSError as err:
                return f"cannot stat {parent}: {err.strerror}"
            if ds.st_uid != 0:
                return f"directory {parent} (on the way to {real}) is owned by uid {ds.st_uid}, not root"
            if ds.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return f"directory {parent} (on the way to {real}) is writable by non-root"
    return None


def script_problems(config) -> tuple[list[str], list[str]]:
    """(errors, warnings) as ``FILE:LINE:COL: error: ...`` lines."""
    from ..config.validate import scripts  # noqa: PLC0415 - the judge's, not the VRRP child's

    secure = config.global_defs.enable_script_security
    errors: list[str] = []
    warnings: list[str] = []
    checked: dict[str, str | None] = {}
    for sc in scripts(config):
        prog = sc.argv[0]
        if prog not in checked:
            checked[prog] = unsafe_reason(prog)
        reason = checked[prog]
        if reason is None:
            continue
        if secure:
            errors.append(f"{sc.loc}: error: unsafe script '{prog}': {reason} (enable_script_security)")
        else:
            warnings.append(f"{sc.loc}: warning: unsafe script '{prog}': {reason} "
                            "(refused with enable_script_security)")
    return errors, warnings


def run_as(script: Script | None, default: tuple[str, ...] = ()) -> tuple[str | None, str | None]:
    if script is not None and script.user:
        return script.user, script.group
    if default:
        return default[0], default[1] if len(default) > 1 else None
    return None, None
