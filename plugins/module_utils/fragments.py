# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ConfigObject: the one base class that owns ``changed``, check mode, diff,
validation, atomic writes and the reload for every module (ansible.posix firewalld
style). A subclass only says which files it owns and what they should contain.

Layout under ``config_dir`` (docs/modules.md): ``keepalived.conf`` includes
``conf.d/*.conf``; one fragment per object in ``conf.d/``; sub-objects (a virtual
server's real servers, a sync group's members) in ``conf.d/<fragment>.d/``, which
the parent fragment includes inside its block.
"""

from __future__ import annotations

import os
import re
import tempfile

from ansible_collections.hapair.keepalived.plugins.module_utils import daemon
from ansible_collections.hapair.keepalived.plugins.module_utils.syntax import SyntaxValueError

FILE_MODE = 0o640
DIR_MODE = 0o750
_SAFE_ID = re.compile(r"^[A-Za-z0-9_:%@+-][A-Za-z0-9_.:%@+-]*$")


def common_argument_spec():
    """Options every module shares (documented in the ``hapair.keepalived.common`` doc fragment)."""
    return dict(
        config_dir=dict(type="path", default="/etc/pykeepalived"),
        runtime_dir=dict(type="path", default="/run/pykeepalived"),
        pykeepalived_bin=dict(type="path", default="/opt/pykeepalived/bin/pykeepalived"),
        reload=dict(type="bool", default=True),
    )


def safe_id(module, what, value):
    """``value`` as part of a file name; fails the task for anything else."""
    text = str(value)
    if not _SAFE_ID.match(text):
        module.fail_json(msg=f"{what} {text!r} cannot be used in a fragment file name "
                             "(letters, digits and _ . : % @ + - only, not starting with a dot)")
    return text


def read_text(path):
    try:
        with open(path) as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def changes_and_diffs(wanted):
    """Of ``wanted`` ({path: text, or None for absent}), the files that differ on disk, and
    one diff per file for Ansible's --diff (before/after, "(absent)" for a missing side)."""
    changes, diffs = {}, []
    for path in sorted(wanted):
        before, after = read_text(path), wanted[path]
        if before == after:
            continue
        changes[path] = after
        diffs.append(dict(before=before or "", after=after or "",
                          before_header=path if before is not None else f"{path} (absent)",
                          after_header=path if after is not None else f"{path} (absent)"))
    return changes, diffs


def has_mode(path, mode):
    """True if ``path`` exists with exactly ``mode``, and (running as root) owner root:root."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    return (st.st_mode & 0o7777) == mode and (os.geteuid() != 0 or (st.st_uid, st.st_gid) == (0, 0))


def write_atomic(module, path, text, mode=FILE_MODE):
    """Write ``text`` to ``path``: temp file in the same directory, fsync, then
    ``AnsibleModule.atomic_move`` (a rename; SELinux context and attributes as Ansible
    keeps them); ``mode`` (0640), owner root when running as root."""
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        os.makedirs(parent, DIR_MODE)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        # atomic_move gives a new file 0666 less the umask: a umask that leaves 0640, so the
        # file is never readable by others, not even for a moment
        umask = os.umask(0o777 & ~mode)
        try:
            module.atomic_move(tmp, path)
        finally:
            os.umask(umask)
        os.chmod(path, mode)
        if os.geteuid() == 0:
            os.chown(path, 0, 0)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class ConfigObject:
    """Base class of the modules' objects.

    Subclasses implement ``fragment_path()`` (the file returned as ``fragment``) and
    ``desired()`` ({path: text, or None for "must not exist"}), and may override
    ``empty_dirs()`` (directories removed when a change leaves them empty),
    ``preflight()`` (extra checks before anything is written), ``result()`` (extra
    return values) and ``runtime()`` (facts read from the running daemon).
    """

    header = ("Managed by Ansible (hapair.keepalived); local changes are overwritten.",)

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.config_dir = os.path.abspath(self.params["config_dir"])
        self.conf_d = os.path.join(self.config_dir, "conf.d")

    # --- what subclasses provide -------------------------------------------------
    def fragment_path(self):
        raise NotImplementedError

    def desired(self):
        raise NotImplementedError

    def empty_dirs(self):
        return []

    def preflight(self):
        """Checks of the file layout (not of the config language) before a change."""

    def result(self):
        return {}

    def runtime(self, result):
        """Add facts read from the running daemon to ``result``, after the reload. A config
        module never changes the daemon's runtime state (drains, runtime weights: the
        real_server_state module's); the base class reads nothing."""

    # --- the one implementation of changed / check / diff / validate / write / reload
    def run(self):
        try:
            wanted = self.desired()
        except SyntaxValueError as exc:
            self.module.fail_json(msg=str(exc))
        changes, diffs = changes_and_diffs(wanted)
        result = dict(changed=bool(changes), fragment=self.fragment_path(), reloaded=False, diff=diffs)
        result.update(self.result())
        if changes:
            self.preflight()
            self.validate(changes)
            if not self.module.check_mode:
                self.apply(changes)
        if changes and not self.module.check_mode and self.params["reload"]:
            result["reloaded"], warning = daemon.reload_daemon(self.params["runtime_dir"])
            if warning:
                self.module.warn(warning)
        self.runtime(result)
        self.module.exit_json(**result)

    def validate(self, changes):
        given = self.params["pykeepalived_bin"]
        binary = daemon.find_checker(self.module, given)
        if binary is None:
            if self.module.check_mode:
                self.module.warn(f"pykeepalived not found ({given}, PATH); check mode skipped validating the change")
                return
            self.module.fail_json(msg=f"pykeepalived not found ({given}, PATH): it validates every change; install the daemon first")
        check = daemon.check_with_changes(self.module, binary, self.config_dir, changes)
        for line in check.warnings:
            self.module.warn(line)
        if not check.ok:
            errors = "\n".join(check.errors)
            self.module.fail_json(msg=f"pykeepalived rejected the change; nothing was written:\n{errors}",
                                  errors=check.errors, fragment=self.fragment_path())

    def apply(self, changes):
        for path, text in sorted(changes.items()):
            if text is None:
                if os.path.lexists(path):
                    os.unlink(path)
            else:
                write_atomic(self.module, path, text)
        for path in self.empty_dirs():
            if os.path.isdir(path) and not os.listdir(path):
                os.rmdir(path)
