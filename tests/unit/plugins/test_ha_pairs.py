"""ha_pairs: exactly one intended master per VIP, unique VRIDs, peers exclude self (hypothesis),
and the filter working inside a real ansible-playbook run."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("topology", ROOT / "plugins/plugin_utils/topology.py")
topology = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(topology)


@st.composite
def inventories(draw):
    n_groups = draw(st.integers(1, 3))
    groups, hostvars, pairs = {}, {}, []
    for g in range(n_groups):
        hosts = [f"g{g}h{i}" for i in range(draw(st.integers(2, 3)))]
        groups[f"grp{g}"] = hosts
        for i, h in enumerate(hosts):
            hostvars[h] = {"ansible_host": f"192.0.2.{10 + 10 * g + i}"}
        mode = draw(st.sampled_from(["mb", "mm"]))
        vips = [f"198.51.100.{10 * g + k}/24" for k in range(draw(st.integers(1, 3)))]
        pairs.append({"name": f"p{g}", "group": f"grp{g}", "mode": mode, "vips": vips,
                      "interface": draw(st.sampled_from(["eth0", "eth1"]))})
    return pairs, groups, hostvars


def compute(pairs, groups, hostvars):
    try:
        return topology.ha_pairs(pairs, groups, hostvars)
    except topology.TopologyError as exc:
        assert "VRID" in str(exc)  # a derived-VRID collision is the only acceptable refusal here
        return None


@settings(max_examples=200, deadline=None)
@given(inventories())
def test_one_master_per_vip_unique_vrids_peers_exclude_self(inv) -> None:
    pairs, groups, hostvars = inv
    result = compute(pairs, groups, hostvars)
    if result is None:
        return
    by_instance: dict[str, list] = {}
    for host, instances in result.items():
        for inst in instances:
            by_instance.setdefault(inst["name"], []).append((host, inst))
            assert hostvars[host]["ansible_host"] not in inst["unicast_peers"]
            assert inst["unicast_src_ip"] == hostvars[host]["ansible_host"]
    vrids = {}
    for name, members in by_instance.items():
        masters = [h for h, i in members if i["state"] == "MASTER"]
        assert len(masters) == 1, (name, masters)
        insts = [i for _host, i in members]
        prios = sorted((i["priority"] for i in insts), reverse=True)
        assert prios[0] > prios[1]  # the master's priority is strictly the highest
        (vrid,) = {i["vrid"] for i in insts}
        (iface,) = {i["interface"] for i in insts}
        assert (iface, vrid) not in vrids, (name, vrids.get((iface, vrid)))
        vrids[(iface, vrid)] = name
    for pair in pairs:  # every VIP is carried by exactly one instance
        vips = [v for name, m in by_instance.items() if m[0][1]["pair"] == pair["name"] for v in m[0][1]["vips"]]
        assert sorted(vips) == sorted(pair["vips"])


def vrids(result):
    return {i["name"]: i["vrid"] for insts in result.values() for i in insts}


def masters(result):
    return {i["name"]: h for h, insts in result.items() for i in insts if i["state"] == "MASTER"}


@settings(max_examples=100, deadline=None)
@given(inventories(), st.integers(1, 3))
def test_vrids_are_stable_when_hosts_are_added(inv, extra) -> None:
    pairs, groups, hostvars = inv
    before = compute(pairs, groups, hostvars)
    if before is None:
        return
    group = pairs[0]["group"]
    for k in range(extra):
        host = f"new{k}"
        groups[group] = groups[group] + [host]
        hostvars[host] = {"ansible_host": f"203.0.113.{k + 1}"}
    after = compute(pairs, groups, hostvars)
    assert vrids(before) == vrids(after)
    if pairs[0]["mode"] == "mb":
        assert masters(before)[pairs[0]["name"]] == masters(after)[pairs[0]["name"]]


def test_master_master_spreads_vips_and_explicit_values_win() -> None:
    groups = {"lb": ["lb1", "lb2"]}
    hostvars = {"lb1": {"ansible_host": "192.0.2.11"},
                "lb2": {"ansible_host": "192.0.2.12", "keepalived_priorities": {"web_2": 200}}}
    pairs = [{"name": "web", "group": "lb", "mode": "mm", "vips": ["192.0.2.100/24", "192.0.2.101/24"],
              "vrid": [51, 52]}]
    res = topology.ha_pairs(pairs, groups, hostvars)
    lb1 = {i["name"]: i for i in res["lb1"]}
    lb2 = {i["name"]: i for i in res["lb2"]}
    assert (lb1["web_1"]["state"], lb1["web_1"]["priority"], lb1["web_1"]["vrid"]) == ("MASTER", 150, 51)
    assert (lb2["web_1"]["state"], lb2["web_1"]["priority"]) == ("BACKUP", 100)
    assert (lb2["web_2"]["state"], lb2["web_2"]["priority"], lb2["web_2"]["vrid"]) == ("MASTER", 200, 52)
    assert lb1["web_2"]["unicast_peers"] == ["192.0.2.12"]


def test_a_pair_on_a_second_interface_takes_its_unicast_addresses_from_address_var() -> None:
    groups = {"lb": ["lb1", "lb2"]}
    hostvars = {"lb1": {"ansible_host": "198.51.100.11", "back": "192.0.2.11"},
                "lb2": {"ansible_host": "198.51.100.12", "back": "192.0.2.12"}}
    pairs = [{"name": "web", "group": "lb", "vips": ["198.51.100.50/24"]},
             {"name": "gw", "group": "lb", "vips": ["192.0.2.1/24"], "interface": "eth1", "address_var": "back"}]
    lb1 = {i["name"]: i for i in topology.ha_pairs(pairs, groups, hostvars)["lb1"]}
    assert (lb1["web"]["unicast_src_ip"], lb1["web"]["unicast_peers"]) == ("198.51.100.11", ["198.51.100.12"])
    assert (lb1["gw"]["unicast_src_ip"], lb1["gw"]["unicast_peers"]) == ("192.0.2.11", ["192.0.2.12"])
    assert lb1["gw"]["interface"] == "eth1"


@pytest.mark.parametrize(("pairs", "message"), [
    ([{"name": "a", "group": "lb", "vips": ["192.0.2.1"], "vrid": 7},
      {"name": "b", "group": "lb", "vips": ["192.0.2.2"], "vrid": 7}], "VRID 7 on interface eth0 is taken by both 'a' (pair 'a') and 'b' (pair 'b')"),
    ([{"name": "a", "group": "lb", "vips": ["192.0.2.1"], "prio_top": 150}], "pair 'a': unknown key(s) 'prio_top'"),
    ([{"name": "a", "group": "solo", "vips": ["192.0.2.1"]}], "needs at least two hosts"),
    ([{"name": "a", "group": "lb", "vips": []}], "'vips' must list at least one address"),
    ([{"name": "a", "group": "lb", "vips": ["192.0.2.1"], "mode": "ab"}], "mode must be mb or mm"),
    ([{"name": "a", "group": "lb", "vips": ["192.0.2.1"], "priority_top": 300}], "outside 1..254"),
    ([{"name": "a", "group": "lb", "vips": ["192.0.2.1"], "priority_backup": 150}], "share the top priority 150"),
])
def test_refusals_say_what_is_wrong(pairs, message) -> None:
    groups = {"lb": ["lb1", "lb2"], "solo": ["lb1"]}
    with pytest.raises(topology.TopologyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        topology.ha_pairs(pairs, groups, {})


def test_a_vrid_domain_salts_derived_vrids_and_checks_every_pair_of_the_segment() -> None:
    groups = {"lb": ["lb1", "lb2"], "lb_b": ["lb3", "lb4"]}
    pair = {"name": "web", "group": "lb", "vips": ["192.0.2.1/24"]}
    plain = topology.ha_pairs([pair], groups, {})["lb1"][0]
    salted = topology.ha_pairs([pair], groups, {}, vrid_domain="dc1-front")["lb1"][0]
    assert plain["vrid"] == topology.derived_vrid("web")
    assert salted["vrid"] == topology.derived_vrid("web", "dc1-front") != plain["vrid"]
    assert salted["vrid_domain"] == "dc1-front"
    # one domain = one segment: two groups on different interface names still collide, named both
    pairs = [{"name": "a", "group": "lb", "vips": ["192.0.2.1"], "vrid": 9, "interface": "eth0"},
             {"name": "b", "group": "lb_b", "vips": ["192.0.2.2"], "vrid": 9, "interface": "ens3"}]
    with pytest.raises(topology.TopologyError,
                       match=r"VRID 9 on VRID domain 'seg' is taken by both 'a' \(pair 'a'\) and 'b' \(pair 'b'\)"):
        topology.ha_pairs(pairs, groups, {}, vrid_domain="seg")
    # different domains on the same interface name are different segments
    pairs[1]["vrid_domain"] = "other"
    assert topology.ha_pairs(pairs, groups, {}, vrid_domain="seg")["lb3"][0]["vrid"] == 9


def test_reserved_vrids_move_derived_ones_and_refuse_explicit_ones() -> None:
    groups = {"lb": ["lb1", "lb2"]}
    pair = {"name": "web", "group": "lb", "vips": ["192.0.2.1/24"]}
    derived = topology.derived_vrid("web", "seg")
    moved = topology.ha_pairs([pair], groups, {}, vrid_domain="seg", vrid_reserved=[derived])["lb1"][0]["vrid"]
    assert moved == derived % 255 + 1
    by_domain = topology.ha_pairs([pair], groups, {}, vrid_domain="seg", vrid_reserved={"seg": [derived]})
    assert by_domain["lb1"][0]["vrid"] == moved
    assert topology.ha_pairs([pair], groups, {}, vrid_domain="seg",
                             vrid_reserved={"elsewhere": [derived]})["lb1"][0]["vrid"] == derived
    with pytest.raises(topology.TopologyError, match=r"instance 'web': vrid 5 is reserved on segment 'seg'"):
        topology.ha_pairs([dict(pair, vrid=5)], groups, {}, vrid_domain="seg", vrid_reserved=[5])
    with pytest.raises(topology.TopologyError, match=r"vrid_reserved: 300 is outside 1..255"):
        topology.ha_pairs([pair], groups, {}, vrid_reserved=[300])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 255), max_size=254), st.text(min_size=1, max_size=8))
def test_a_derived_vrid_is_never_reserved(reserved, domain) -> None:
    groups = {"lb": ["lb1", "lb2"]}
    res = topology.ha_pairs([{"name": "web", "group": "lb", "vips": ["192.0.2.1/24"]}], groups, {},
                            vrid_domain=domain, vrid_reserved=reserved)
    assert res["lb1"][0]["vrid"] not in reserved


def test_filter_in_a_real_playbook(tmp_path: Path) -> None:
    coll = tmp_path / "ansible_collections" / "hapair"
    coll.mkdir(parents=True)
    (coll / "keepalived").symlink_to(ROOT)
    (tmp_path / "inv.yml").write_text(
        "lb:\n  hosts:\n    lb1: {ansible_host: 192.0.2.11, ansible_connection: local}\n"
        "    lb2: {ansible_host: 192.0.2.12, ansible_connection: local}\n")
    (tmp_path / "play.yml").write_text(
        "- hosts: lb\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.copy:\n"
        "        dest: \"{{ playbook_dir }}/{{ inventory_hostname }}.json\"\n"
        "        mode: '0644'\n"
        "        content: \"{{ [{'name': 'web', 'group': 'lb', 'vips': ['192.0.2.100/24']}]"
        " | hapair.keepalived.ha_pairs(groups, hostvars, inventory_hostname) | to_json }}\"\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path), ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    bindir = Path(sys.executable).parent
    proc = subprocess.run([str(bindir / "ansible-playbook"), "-i", str(tmp_path / "inv.yml"), str(tmp_path / "play.yml")],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lb1 = json.loads((tmp_path / "lb1.json").read_text())[0]
    lb2 = json.loads((tmp_path / "lb2.json").read_text())[0]
    assert (lb1["state"], lb2["state"]) == ("MASTER", "BACKUP")
    assert lb1["vrid"] == lb2["vrid"] == topology.derived_vrid("web")
    assert lb2["unicast_peers"] == ["192.0.2.11"]


class CountingHostvars(dict):
    """Ansible's hostvars merge a host's variables on every hostvars[host]: count them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reads = []

    def __getitem__(self, host):
        self.reads.append(host)
        return super().__getitem__(host)


def test_filter_reads_each_pair_member_once_and_no_other_host() -> None:
    base = ROOT / ".cache" / "unit-collections"
    link = base / "ansible_collections" / "hapair" / "keepalived"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT)
    sys.path.insert(0, str(base))
    from ansible_collections.hapair.keepalived.plugins.filter.ha_pairs import ha_pairs_filter  # noqa: PLC0415

    groups = {"p1": ["lb1", "lb2"], "p2": ["lb3", "lb4"], "web": ["web1"]}
    hostvars = CountingHostvars({h: {"ansible_host": f"192.0.2.{i}", "keepalived_vrids": {"api_2": 42}}
                                 for i, h in enumerate(["lb1", "lb2", "lb3", "lb4", "web1"], start=1)})
    pairs = [{"name": "web", "group": "p1", "vips": ["198.51.100.1/24"]},
             {"name": "api", "group": "p2", "mode": "mm", "vips": ["198.51.100.2/24", "198.51.100.3/24"]}]
    result = ha_pairs_filter(pairs, groups, hostvars)
    assert sorted(hostvars.reads) == ["lb1", "lb2", "lb3", "lb4"]
    assert [i["vrid"] for i in result["lb3"]] == [topology.derived_vrid("api_1"), 42]
    assert result["lb4"][0]["unicast_peers"] == ["192.0.2.3"]
