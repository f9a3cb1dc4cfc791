"""Reload: the judge of a new file (core/reload.py) and the VRRP diff (vrrp/plan.py)."""
from __future__ import annotations

import asyncio
from ipaddress import ip_address

from pykeepalived.core.reload import load_new
from pykeepalived.vrrp.plan import plan_vrrp

from .helpers import conf

GLOBAL = "global_defs {\n    vrrp_version 3\n}\n"


def inst(name: str, vrid: int, priority: int = 100, vip: str = "192.0.2.100", extra: str = "") -> str:
    return f"""vrrp_instance {name} {{
    interface eth0
    virtual_router_id {vrid}
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        {vip}/24
    }}
{extra}}}
"""


ADDR = {"VI_1": ip_address("192.0.2.11"), "VI_2": ip_address("192.0.2.11")}


def test_unchanged_even_with_moved_lines_and_comments() -> None:
    old = conf(GLOBAL + inst("VI_1", 51) + inst("VI_2", 52))
    new = conf("# a comment\n\n" + GLOBAL + inst("VI_2", 52) + "\n\n" + inst("VI_1", 51))
    plan = plan_vrrp(old, new, ADDR)
    assert plan.as_dict() == {"unchanged": ["VI_2", "VI_1"], "changed": [], "removed": [], "added": []}


def test_add_change_remove() -> None:
    old = conf(GLOBAL + inst("VI_1", 51) + inst("VI_2", 52))
    new = conf(GLOBAL + inst("VI_1", 51) + inst("VI_2", 52, priority=120) + inst("VI_3", 53, vip="192.0.2.103"))
    assert plan_vrrp(old, new, ADDR).as_dict() == {"unchanged": ["VI_1"], "changed": ["VI_2"], "removed": [],
                                                   "added": ["VI_3"]}
    assert plan_vrrp(new, old, ADDR).removed == ["VI_3"]


def test_global_defs_the_state_machine_sees() -> None:
    old = conf(GLOBAL + inst("VI_1", 51))
    new = conf(inst("VI_1", 51))  # back to VRRPv2: the instance must restart
    assert plan_vrrp(old, new, ADDR).changed == ["VI_1"]


def test_tracked_script_change_moves_its_instances_only() -> None:
    script = 'vrrp_script chk {{\n    script "/bin/true"\n    interval {}\n}}\n'
    track = "    track_script {\n        chk\n    }\n"
    old = conf(GLOBAL + script.format(2) + inst("VI_1", 51, extra=track) + inst("VI_2", 52))
    new = conf(GLOBAL + script.format(3) + inst("VI_1", 51, extra=track) + inst("VI_2", 52))
    plan = plan_vrrp(old, new, ADDR)
    assert plan.changed == ["VI_1"] and plan.unchanged == ["VI_2"] and plan.scripts_kept == []
    assert plan_vrrp(old, old, ADDR).scripts_kept == ["chk"]


def test_load_new_reports_every_error_with_location(tmp_path) -> None:
    path = tmp_path / "k.conf"
    path.write_text(GLOBAL + inst("VI_1", 51).replace("priority 100", "priority 300").replace(
        "advert_int 1", "advert_intt 1"))
    judged = asyncio.run(load_new(str(path)))  # judged in a process of its own
    assert judged.config is None and len(judged.errors) == 2
    assert all(e.startswith(f"{path}:") and ": error: " in e for e in judged.errors)
    assert judged.errors[0].split(":")[1:3] != ["0", "0"]
    judged = asyncio.run(load_new(str(tmp_path / "missing.conf")))
    assert judged.config is None and judged.errors
    path.write_text(GLOBAL + inst("VI_1", 51))
    judged = asyncio.run(load_new(str(path)))
    assert judged.config is not None and judged.errors == []
    assert judged.config == conf(GLOBAL + inst("VI_1", 51))  # the model came through the pipe whole


def test_load_new_bounds_the_judge(tmp_path) -> None:
    """A file that takes longer to judge than the bound is refused; the caller's loop kept running."""
    path = tmp_path / "k.conf"
    path.write_text(GLOBAL + inst("VI_1", 51))
    ticks = 0

    async def main():
        async def tick():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        ticker = asyncio.get_running_loop().create_task(tick())
        judged = await load_new(str(path), timeout=0.0)  # no judge answers within 0 s
        ticker.cancel()
        return judged

    judged = asyncio.run(main())
    assert judged.config is None and judged.errors == [f"{path}: error: not judged within 0 s; not loaded"]


def test_sync_group_moves_as_one() -> None:
    group = "vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n}\n"
    old = conf(GLOBAL + group + inst("VI_1", 51) + inst("VI_2", 52) + inst("VI_3", 53, vip="192.0.2.103"))
    new = conf(GLOBAL + group + inst("VI_1", 51, priority=90) + inst("VI_2", 52) + inst("VI_3", 53, vip="192.0.2.103"))
    plan = plan_vrrp(old, new, ADDR)
    assert sorted(plan.changed) == ["VI_1", "VI_2"] and plan.unchanged == ["VI_3"] and plan.groups_kept == []
    assert plan_vrrp(old, old, ADDR).groups_kept == ["G1"]


def test_virtual_routes_change_in_place_unless_their_tracked_interfaces_do() -> None:
    routes = "    virtual_routes {{\n        10.0.0.0/8 via 192.0.2.1 dev {dev}\n        {extra}\n    }}\n"
    old = conf(GLOBAL + inst("VI_1", 51, extra=routes.format(dev="eth0", extra="")) + inst("VI_2", 52))
    swapped = conf(GLOBAL + inst("VI_1", 51, extra=routes.format(dev="eth0", extra="blackhole 10.9.0.0/16"))
                   + inst("VI_2", 52, extra="    virtual_rules {\n        from 192.0.2.100 table 5\n    }\n"))
    plan = plan_vrrp(old, swapped, ADDR)
    assert plan.unchanged == ["VI_1", "VI_2"] and plan.routing_changed == ["VI_1", "VI_2"]
    assert plan_vrrp(old, old, ADDR).routing_changed == []
    # a route on another interface: that interface is tracked now, the instance reopens
    moved = conf(GLOBAL + inst("VI_1", 51, extra=routes.format(dev="eth1", extra="")) + inst("VI_2", 52))
    plan = plan_vrrp(old, moved, ADDR)
    assert plan.changed == ["VI_1"] and plan.routing_changed == []
