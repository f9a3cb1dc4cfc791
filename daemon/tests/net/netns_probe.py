"""Probes that need a private network namespace run as a child under unshare(1)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

needs_netns = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                 reason="needs root and unshare(1) for a private netns")


def run_probe(script: str, beside: str = __file__, timeout: float = 30) -> dict:
    """Run ``script`` (beside this file, or ``beside``) in a fresh network namespace; its JSON output."""
    out = subprocess.run(["unshare", "--net", sys.executable, str(Path(beside).with_name(script))],
                         capture_output=True, text=True, timeout=timeout, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
