"""vrrp_sync_group sync_group_tracking_weight (and keepalived's deprecated global_tracking):
a member's own weighted tracking moves its priority instead of putting it in FAULT."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pykeepalived.config.loader import loads_config

from .netns_probe import needs_netns


@needs_netns
def test_the_member_keeps_its_weights_only_when_asked(tmp_path: Path) -> None:
    out = subprocess.run(["unshare", "--net", sys.executable, str(Path(__file__).with_name("sg_weight_probe.py")),
                          str(tmp_path / "state")], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["without"] == {"state": "FAULT", "priority": 100}  # keepalived's default: weight forced to 0
    assert got["with"] == {"state": "BACKUP", "priority": 80}  # 100 - 20: the script's weight applies


def test_global_tracking_is_read_as_the_new_name_with_a_warning() -> None:
    config, diags = loads_config("vrrp_sync_group G {\n    group {\n        VI_1\n    }\n    global_tracking\n}\n"
                                 "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n}\n", "k.conf")
    assert not diags.errors and config.vrrp_sync_groups["G"].sync_group_tracking_weight
    assert [str(w).split(": warning: ")[0] for w in diags.warnings if "global_tracking" in str(w)] == ["k.conf:5:5"]
