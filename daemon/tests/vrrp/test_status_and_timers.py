"""The status parts follow instances and states; all instances share one timerfd (real sockets, a netns)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# as daemon/tests/net/netns_probe.py (this directory is not a package: its tests import by name)
needs_netns = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                 reason="needs root and unshare(1) for a private netns")


def run_probe(script: str, timeout: float) -> dict:
    out = subprocess.run(["unshare", "--net", sys.executable, str(Path(__file__).with_name(script))],
                         capture_output=True, text=True, timeout=timeout, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@needs_netns
def test_status_parts_follow_states_and_reloads_and_instances_share_one_timerfd() -> None:
    got = run_probe("status_probe.py", timeout=60)
    assert got["started"] == ["VI_1 BACKUP", "VI_2 BACKUP", "VI_3 BACKUP"]  # "state MASTER" waits one interval
    assert got["masters"] == ["VI_1 MASTER", "VI_2 MASTER", "VI_3 BACKUP"]
    assert got["same_object_while_unchanged"]
    assert got["reloaded"] == ["VI_1 MASTER", "VI_2 MASTER"]
    assert got["timerfds"] == 1
    assert got["timerfds_after_stop"] == 0
