# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules' two uses of the pykeepalived program: its config checker
(``pykeepalived -t``, the one validator of the language) and its reload signal.

The runtime control socket (``RUNTIME_DIR/control.sock``) gets its own helper
module beside this one; see ConfigObject.runtime() in fragments.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile

MAIN_FILE = "keepalived.conf"
PID_FILE = "pykeepalived.pid"
STAND_IN_MAIN = "# stand-in written by hapair.keepalived: %s does not exist\ninclude conf.d/*.conf\n"


class CheckResult:
    """What ``pykeepalived -t`` said, with temp paths mapped back to the real config dir."""

    def __init__(self, rc, errors, warnings, output):
        self.rc = rc
        self.errors = errors
        self.warnings = warnings
        self.output = output

    @property
    def ok(self):
        return self.rc == 0


def find_checker(module, path):
    """The pykeepalived program: ``path`` if executable, else ``pykeepalived`` on PATH, else None."""
    if path and os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    return module.get_bin_path("pykeepalived")


def check_with_changes(module, binary, config_dir, changes):
    """Copy ``config_dir`` to a temp dir, apply ``changes`` (path -> text, None removes),
    run ``BINARY -t -f COPY/keepalived.conf`` and report, with paths mapped back."""
    work = tempfile.mkdtemp(prefix="pykeepalived-check-", dir=getattr(module, "tmpdir", None))
    try:
        copy = os.path.join(work, "config")
        if os.path.isdir(config_dir):
            shutil.copytree(config_dir, copy, symlinks=True)
        else:
            os.makedirs(copy)
        stand_in = []
        main = os.path.join(copy, MAIN_FILE)
        if not os.path.exists(main):
            with open(main, "w") as fh:
                fh.write(STAND_IN_MAIN % os.path.join(config_dir, MAIN_FILE))
            stand_in.append(f"{os.path.join(config_dir, MAIN_FILE)} does not exist: the change was checked with "
                            "a stand-in main file that contains only 'include conf.d/*.conf'")
        for path, text in changes.items():
            target = os.path.join(copy, os.path.relpath(path, config_dir))
            if text is None:
                if os.path.lexists(target):
                    os.unlink(target)
                continue
            parent = os.path.dirname(target)
            if not os.path.isdir(parent):
                os.makedirs(parent)
            with open(target, "w") as fh:
                fh.write(text)
        rc, out, err = module.run_command([binary, "-t", "-f", main])
        text = _map_paths(err + out, copy, config_dir)
        errors = [line for line in text.splitlines() if ": error: " in line or line.endswith("configuration rejected")]
        warnings = [line for line in text.splitlines() if ": warning: " in line]
        if rc != 0 and not errors:
            errors = text.splitlines() or [f"{binary} -t exited with {rc}"]
        return CheckResult(rc, errors, stand_in + warnings, text)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _map_paths(text, copy, config_dir):
    for prefix in (copy, os.path.realpath(copy)):
        text = text.replace(prefix + os.sep, config_dir.rstrip(os.sep) + os.sep)
        text = text.replace(prefix, config_dir.rstrip(os.sep))
    return text


def running_pid(runtime_dir):
    """(pid, None) of the running daemon from RUNTIME_DIR/pykeepalived.pid; (None, why) if
    there is none. A pid whose /proc cmdline does not mention pykeepalived is stale (reused)."""
    pidfile = os.path.join(runtime_dir, PID_FILE)
    try:
        with open(pidfile) as fh:
            pid = int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None, None
    if pid <= 1:
        return None, f"{pidfile} holds pid {pid}; not signalled"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except OSError:
        return None, f"{pidfile} names pid {pid}, which is not running (stale pid file); not reloaded"
    if b"pykeepalived" not in cmdline:
        return None, f"{pidfile} names pid {pid}, which is not pykeepalived (stale pid file); not reloaded"
    return pid, None


def reload_daemon(runtime_dir):
    """Send SIGHUP (reload: a diff, never a restart) to the running daemon.
    Returns (reloaded, warning)."""
    pid, why = running_pid(runtime_dir)
    if pid is None:
        return False, why
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        return False, f"pid {pid} exited before it could be reloaded"
    return True, None
