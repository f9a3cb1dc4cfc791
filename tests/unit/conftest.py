"""Ansible run by these tests writes under the checkout's .cache/ansible, not ~/.ansible
(as `make unit` sets it; this covers a bare `pytest tests/unit`). ANSIBLE_REMOTE_TMP too:
with connection local the "remote" temp dir is on this machine, by default ~/.ansible/tmp
of the real home (tools/home-guard.sh finds it there even with HOME pointed elsewhere)."""

import os
from pathlib import Path

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "ansible"
os.environ.setdefault("ANSIBLE_HOME", str(CACHE))
os.environ.setdefault("ANSIBLE_REMOTE_TMP", str(CACHE / "tmp"))
