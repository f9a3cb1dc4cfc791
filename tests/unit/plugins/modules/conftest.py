"""Fixture ``runner``: a temp config dir and ansible-playbook runs (see module_runner.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from module_runner import ANSIBLE_PLAYBOOK, PYKEEPALIVED, Runner


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    if not (PYKEEPALIVED.exists() and ANSIBLE_PLAYBOOK.exists()):
        pytest.skip("needs the project venv (make venv): pykeepalived and ansible-playbook next to sys.executable")
    return Runner(tmp_path)
