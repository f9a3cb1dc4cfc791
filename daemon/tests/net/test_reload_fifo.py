"""global_defs fifo_write_vrrp_states_on_reload: the lines a reload writes to a real notify fifo."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .netns_probe import needs_netns


@needs_netns
def test_a_reload_writes_the_kept_states_only_when_asked(tmp_path: Path) -> None:
    out = subprocess.run(["unshare", "--net", sys.executable, str(Path(__file__).with_name("reload_fifo_probe.py")),
                          str(tmp_path)], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert sorted(got["start"]) == ['GROUP "G" BACKUP 0', 'INSTANCE "VI_1" BACKUP 101', 'INSTANCE "VI_2" BACKUP 102']
    # VI_3 is new: its own transition; then the kept group and instances, groups first (keepalived's order)
    assert got["reload_with"][0] == 'INSTANCE "VI_3" BACKUP 103'
    assert got["reload_with"][1:] == ['GROUP "G" BACKUP 0', 'INSTANCE "VI_1" BACKUP 101', 'INSTANCE "VI_2" BACKUP 102']
    assert got["reload_without"] == ['INSTANCE "VI_4" BACKUP 104']
