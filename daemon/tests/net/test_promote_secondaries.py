"""vrrp_instance promote_secondaries: the interface's sysctl in the daemon's own network
namespace (a private one here), with its real effect on address deletion."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pykeepalived.config.loader import loads_config

from .netns_probe import needs_netns

VMAC = """vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    use_vmac
    promote_secondaries
    virtual_ipaddress {
        192.0.2.100/24
    }
}
"""


@needs_netns
def test_set_while_wanted_and_it_keeps_secondaries(tmp_path: Path) -> None:
    out = subprocess.run(["unshare", "--net", sys.executable, str(Path(__file__).with_name("promote_probe.py")),
                          str(tmp_path / "state")], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert (got["before"], got["kept_before"]) == ("0", False)  # the kernel's default flushes secondaries
    assert (got["started"], got["kept_running"]) == ("1", True)
    assert got["reloaded_same"] == "1" and got["reloaded_without"] == "0" and got["stopped"] == "0"
    assert got["foreign_kept"] == "1"  # found at 1: not ours to reset


def test_with_a_vmac_it_is_ignored_with_a_warning() -> None:
    config, diags = loads_config(VMAC, "k.conf")
    assert not diags.errors and not config.vrrp_instances["VI_1"].promote_secondaries
    assert [str(w) for w in diags.warnings if "promote" in str(w)] == [
        "k.conf:5:5: warning: promote_secondaries is always set on a VMAC (use_vmac): ignored, as keepalived "
        "ignores it"]
