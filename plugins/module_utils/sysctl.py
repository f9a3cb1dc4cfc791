# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sysctl: one ``/etc/sysctl.d`` file of ours and the running kernel's values, undoable.

The file records, for each key it sets, the value the kernel had before the role first
set it (``# before: KEY = VALUE``), so ``state: absent`` (the role's uninstall) and a key
dropped from ``values`` put the kernel back as it was. Values are read and written
through ``/proc/sys`` (no sysctl(8), no shell); the file is replaced atomically.
"""

from __future__ import annotations

import os
import re
import tempfile

HEADER = "# Managed by Ansible (hapair.keepalived); local changes are overwritten.\n"
_BEFORE = re.compile(r"^#\s*before:\s*(\S+)\s*=\s*(.*?)\s*$")
_VALUE = re.compile(r"^\s*([^#;\s][^=\s]*)\s*=\s*(.*?)\s*$")
_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")


def argument_spec():
    return dict(
        path=dict(type="path", required=True),
        values=dict(type="dict", default={}),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        proc_root=dict(type="path", default="/proc/sys"),
    )


MODULE_KWARGS = dict(argument_spec=argument_spec(), supports_check_mode=True)


def normal(value):
    """A sysctl value as the kernel prints it, whitespace folded (``4096 87380 6291456``)."""
    if isinstance(value, bool):
        value = int(value)
    return " ".join(str(value).split())


def parse(text):
    """(values, before) of one of our files."""
    values, before = {}, {}
    for line in (text or "").splitlines():
        m = _BEFORE.match(line)
        if m:
            before[m.group(1)] = m.group(2)
            continue
        m = _VALUE.match(line)
        if m:
            values[m.group(1)] = m.group(2)
    return values, before


def render(values, before):
    lines = [HEADER]
    for key in sorted(values):
        lines.append(f"# before: {key} = {before[key]}\n")
        lines.append(f"{key} = {values[key]}\n")
    return "".join(lines)


class Sysctls:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.path = self.params["path"]
        self.proc = self.params["proc_root"]

    def proc_path(self, key):
        if not _KEY.match(key) or ".." in key:
            self.module.fail_json(msg=f"sysctl key {key!r} is not a sysctl name (letters, digits, _ . -)")
        return os.path.join(self.proc, *key.split("."))

    def kernel(self, key):
        try:
            with open(self.proc_path(key)) as fh:
                return normal(fh.read())
        except OSError as exc:
            self.module.fail_json(msg=f"sysctl {key}: cannot read {self.proc_path(key)}: {exc.strerror}")

    def set_kernel(self, key, value):
        try:
            with open(self.proc_path(key), "w") as fh:
                fh.write(value + "\n")
        except OSError as exc:
            self.module.fail_json(msg=f"sysctl {key}: cannot write {value!r} to {self.proc_path(key)}: {exc.strerror}")

    def read_file(self):
        try:
            with open(self.path) as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def write_file(self, text):
        parent = os.path.dirname(self.path) or "."
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(self.path)}.", dir=parent)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        self.module.atomic_move(tmp, self.path)

    def plan(self):
        """What differs (file and running kernel), as the task's result; nothing is written."""
        old_text = self.read_file()
        old_values, before = parse(old_text)
        wanted = {}
        if self.params["state"] == "present":
            wanted = {str(k): normal(v) for k, v in self.params["values"].items()}
        kernel_writes = {}
        # keys we no longer set go back to what they were (unless someone changed them since)
        for key in sorted(set(before) - set(wanted)):
            now = self.kernel(key)
            if now == old_values.get(key) and now != before[key]:
                kernel_writes[key] = before[key]
        new_before = {}
        for key, value in wanted.items():
            new_before[key] = before[key] if key in before else self.kernel(key)
            if self.kernel(key) != value:
                kernel_writes[key] = value
        new_text = render(wanted, new_before) if wanted else None
        self._pending = (kernel_writes, new_text if new_text != old_text else False)
        return dict(changed=bool(kernel_writes) or new_text != old_text, path=self.path, kernel=kernel_writes,
                    diff=dict(before=old_text or "", after=new_text or "",
                              before_header=self.path, after_header=self.path))

    def apply(self):
        """Write what plan() found different (kernel values, then the file)."""
        kernel_writes, new_text = self._pending
        for key, value in kernel_writes.items():
            self.set_kernel(key, value)
        if new_text is None:
            os.unlink(self.path)
        elif new_text is not False:
            self.write_file(new_text)

    def run(self):
        result = self.plan()
        if not self.module.check_mode:
            self.apply()
        self.module.exit_json(**result)
