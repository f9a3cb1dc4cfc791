"""track_* on a vrrp_sync_group (config/sync_tracking.py): added to every member, as keepalived 2.2.7 does.

The lab test tests/integration/vrrp/test_vrrp_sync_tracking.py runs it against keepalived on the wire.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pykeepalived.config.loader import load_config, loads_config
from pykeepalived.config.render import render

KEEPALIVED = "/usr/sbin/keepalived"
can_run_keepalived = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not os.access(KEEPALIVED, os.X_OK),
    reason="keepalived -t needs root, unshare(1) and Debian's keepalived")


def config(group_tracking: str, a_extra: str = "", priority_a: int = 100) -> str:
    return f"""track_file tf {{
    file /nonexistent/condsync-tf
}}
vrrp_instance A {{
    interface eth0
    virtual_router_id 1
    priority {priority_a}
{a_extra}    virtual_ipaddress {{
        192.0.2.1/32
    }}
}}
vrrp_instance B {{
    interface eth0
    virtual_router_id 2
    priority 100
    virtual_ipaddress {{
        192.0.2.2/32
    }}
}}
vrrp_sync_group G {{
    group {{
        A
        B
    }}
{group_tracking}}}
"""


GROUP = """    track_file {
        tf weight 0
    }
    track_interface {
        eth1 weight 7
    }
"""


def test_group_tracking_lands_on_every_member() -> None:
    cfg, diags = loads_config(config(GROUP))
    assert not diags.errors and not diags.warnings, [str(d) for d in diags.items]
    for name in ("A", "B"):
        inst = cfg.vrrp_instances[name]
        assert [(r.name, r.weight, r.sync_group) for r in inst.track_file] == [("tf", 0, "G")]
        assert [(r.name, r.weight, r.sync_group) for r in inst.track_interface] == [("eth1", 7, "G")]
    group = cfg.vrrp_sync_groups["G"]
    assert [r.name for r in group.track_file] == ["tf"] and [r.name for r in group.track_interface] == ["eth1"]
    text = render(cfg)  # pykeepalivedctl format writes them in the group, once
    assert text.count("track_file {") == 1 and text.count("track_interface {") == 1
    again, diags = loads_config(text)
    assert not diags.errors
    strip = lambda c: [(i.name, [(r.name, r.weight, r.sync_group) for r in i.track_file + i.track_interface])  # noqa: E731
                       for i in c.vrrp_instances.values()]
    assert strip(again) == strip(cfg)


def test_track_process_on_a_group() -> None:
    text = "vrrp_track_process p {\n    process sshd\n}\n" + config("    track_process {\n        p\n    }\n")
    cfg, diags = loads_config(text)
    assert not diags.errors, [str(d) for d in diags.errors]
    assert [r.name for r in cfg.vrrp_instances["B"].track_process] == ["p"]


def test_instance_and_group_tracking_the_same_object() -> None:
    own = "    track_file {\n        tf weight 0\n    }\n"
    cfg, diags = loads_config(config("    track_file {\n        tf weight 3\n    }\n", own), "k.conf")
    assert [(r.name, r.weight) for r in cfg.vrrp_instances["A"].track_file] == [("tf", 0)]  # 0 is kept
    assert [str(d) for d in diags.warnings] == [
        "k.conf:9:9: warning: vrrp_instance A: track_file tf is also tracked by its sync group (at k.conf:29:9); "
        "weight 0 here is kept"]
    cfg, _ = loads_config(config("    track_file {\n        tf weight 3\n    }\n", own.replace("weight 0", "weight 2")))
    assert [(r.name, r.weight) for r in cfg.vrrp_instances["A"].track_file] == [("tf", 3)]  # the group's


def test_errors_are_located() -> None:
    _, diags = loads_config(config("    track_file {\n        nosuch\n    }\n"), "k.conf")
    assert [str(d) for d in diags.errors] == [
        "k.conf:26:9: error: vrrp_sync_group G: track_file 'nosuch' is not a defined track_file"]
    _, diags = loads_config(config("    track_file {\n        tf weight 5\n    }\n", priority_a=255), "k.conf")
    assert [str(d) for d in diags.errors] == [
        "k.conf:26:9: error: vrrp_sync_group G: track_file tf has a weight but member A is the address owner "
        "(priority 255): use weight 0"]


def keepalived_accepts(path: Path) -> bool:
    links = "ip link add eth0 type veth peer name p0 && ip link add eth1 type veth peer name p1 || exit 90"
    proc = subprocess.run(["unshare", "--net", "sh", "-c", f'{links}; exec {KEEPALIVED} -t -l -n -f "$0"', str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 90, proc.stderr
    return proc.returncode == 0


# keepalived 2.2.7's -t spins forever on a group tracking an undefined track_file: not compared.
VERDICTS = {
    "file_and_interface": (config(GROUP), True),
    "owner_with_weight": (config("    track_file {\n        tf weight 5\n    }\n", priority_a=255), False),
    "owner_unweighted": (config("    track_file {\n        tf weight 0\n    }\n", priority_a=255), True),
}


@can_run_keepalived
@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_same_verdict_as_keepalived(name: str, tmp_path: Path) -> None:
    text, accepted = VERDICTS[name]
    path = tmp_path / "k.conf"
    path.write_text(text)
    assert keepalived_accepts(path) == accepted
    _, diags = load_config(str(path))
    assert (not diags.errors) == accepted, [str(d) for d in diags.errors]
