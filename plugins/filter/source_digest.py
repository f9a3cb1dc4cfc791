# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The source_digest filter: the daemon build's id, computed in Python on the controller."""

from __future__ import annotations

import hashlib
import os

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: source_digest
short_description: Digest of the daemon's source tree (the role's build id)
version_added: 0.1.0
description:
  - The first 16 hex digits of a SHA-256 over C(pyproject.toml) and every file under C(src/) of the
    given directory (without C(*.pyc), C(__pycache__/) and C(*.egg-info/)), in byte order of their
    relative paths; each file contributes a C(sha256sum)-style line C(HEX  PATH), so the value equals
    the shell pipeline earlier versions of the role ran, without needing GNU tools on the controller.
options:
  _input:
    description: The daemon's source directory on the controller.
    type: path
    required: true
"""

EXAMPLES = r"""
- name: Build id
  ansible.builtin.debug:
    msg: "{{ keepalived_ha_daemon_src | hapair.keepalived.source_digest }}"
"""

RETURN = r"""
_value:
  description: 16 lower-case hex digits.
  type: str
"""


def _files(root):
    yield "pyproject.toml"
    for base, dirs, names in os.walk(os.path.join(root, "src")):
        dirs[:] = [d for d in dirs if d != "__pycache__" and not d.endswith(".egg-info")]
        for name in names:
            if not name.endswith(".pyc"):
                yield os.path.relpath(os.path.join(base, name), root)


def source_digest(root):
    """Jinja entry point."""
    root = os.path.expanduser(str(root))
    if not os.path.isfile(os.path.join(root, "pyproject.toml")):
        raise AnsibleFilterError(f"source_digest: {root} has no pyproject.toml (not the daemon's source tree)")
    outer = hashlib.sha256()
    for rel in sorted(_files(root), key=lambda p: p.encode("utf-8")):
        with open(os.path.join(root, rel), "rb") as fh:
            inner = hashlib.sha256(fh.read()).hexdigest()
        outer.update(f"{inner}  {rel}\n".encode())
    return outer.hexdigest()[:16]


class FilterModule:
    """hapair.keepalived.source_digest."""

    def filters(self):
        return {"source_digest": source_digest}
