"""Ansible run by these tests writes under the checkout's .cache/ansible, not ~/.ansible
(as `make unit` sets it; this covers a bare `pytest tests/unit`)."""

import os
from pathlib import Path

os.environ.setdefault("ANSIBLE_HOME", str(Path(__file__).resolve().parents[2] / ".cache" / "ansible"))
