"""Reloads that change an instance leave nothing of the replaced one behind (issue 16 item 4)."""
from __future__ import annotations

from ..net.netns_probe import needs_netns, run_probe


@needs_netns
def test_changing_reloads_leave_no_listeners_or_instances_behind() -> None:
    got = run_probe("reload_leak_probe.py", beside=__file__, timeout=120)
    # one callback per live instance and tracked object, however many reloads replaced VI_1
    assert got["link_listeners"] == {"d9": 2, "d0": 2}
    assert got["script_listeners"] == {"chk": 2}
    assert got["instances_alive"] == 2
    # the replacing VI_1 starts from the known state of a link already watched (d9, down, watched by VI_2 all along)
    assert got["first"] == "fault" and got["reloaded"] == "fault"
