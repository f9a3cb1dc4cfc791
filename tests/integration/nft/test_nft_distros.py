"""The nftables plane with the nft of other Debian releases: lb's root is Debian 11 (nft 0.9.8) or 13.

The topology is nft-topology.yml with lb a systemd host on that release's root
(lab/roots.py), so the backend's nft and conntrack are that release's, on the
host kernel. Debian 11's nft writes the keys of a ``typeof numgen`` map in
network byte order: before nft_render wrote them swapped for it, only slot 0
matched and every second rr connection failed (Molecule's distros scenario).
So every connection is counted here, and the slot keys are read back from
the kernel.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from lab.pytest_plugin import start_lab
from lab.topology import parse as parse_topology
from pykeepalived.config.loader import loads_config
from pykeepalived.lb.nft_render import SPAN

from .test_nft_lab import IP, SOURCES, WEBS, Env, conf, start_webservers

HERE = Path(__file__).resolve().parent
NFT = {"bullseye": ("nftables v0.9.8", True), "trixie": ("nftables v1.1", False)}  # version, keys swapped
URL81 = "http://192.0.2.80:81/"


def two_services():
    rs = "".join(f"    real_server {IP[w]} 8080 {{ weight 1 }}\n" for w in WEBS)
    text = "global_defs { lb_backend nftables }\n" + "".join(
        f"virtual_server 192.0.2.80 {port} {{\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n{rs}}}\n" for port in (80, 81))
    config, diags = loads_config(text)
    assert not diags.errors, [str(e) for e in diags.errors]
    return config


@pytest.fixture(scope="module", params=sorted(NFT))
def env(request, tmp_path_factory):
    data = yaml.safe_load((HERE / "nft-topology.yml").read_text())
    data["name"] = f"nft{request.param[:4]}"
    data["hosts"]["lb"] = {**data["hosts"]["lb"], "systemd": True, "root": request.param}
    lab = start_lab(parse_topology(data))
    try:
        start_webservers(lab)
        e = Env(lab, tmp_path_factory.mktemp(f"nft{request.param}"))
        e.release = request.param
        r = e.lb.start()
        assert not r.errors, r.errors
        yield e
        e.lb.stop()
    finally:
        lab.down()


def test_lb_runs_that_releases_nft(env) -> None:
    version, swapped = NFT[env.release]
    assert env.lab.exec("lb", ["nft", "--version"]).stdout.startswith(version)
    assert env.backend.swap_keys() is swapped


@pytest.mark.parametrize("sched, weights, want", [
    ("rr", (1, 1, 1), {"web1": 4, "web2": 4, "web3": 4}),
    ("wrr", (3, 2, 1), {"web1": 6, "web2": 4, "web3": 2}),
])
def test_every_connection_is_answered_in_turn(env, sched: str, weights, want) -> None:
    env.reset(conf(sched, weights))
    assert env.fetch(12) == Counter(want)  # an undispatched connection would print ERR-...


@pytest.mark.parametrize("sched", ["sh", "mh"])
def test_hashing_answers_every_source(env, sched: str) -> None:
    env.reset(conf(sched))
    seen = env.per_source(16)
    assert sorted(seen) == SOURCES and all(len(who) == 1 and who <= set(WEBS) for who in seen.values()), seen


def test_kernel_holds_slot_keys_in_host_order(env) -> None:
    """Read back with the release's own nft: the keys are the slots numgen gives, whatever nft wrote them."""
    env.reset(conf("rr"))
    sid = env.backend.ids[next(iter(env.backend.dump(counts=False)))]
    doc = json.loads(env.lab.exec("lb", ["nft", "-j", "list", "map", "inet", "pykeepalived", "dnat4_tcp_0"]).stdout)
    keys = {elem[0] for obj in doc["nftables"] if "map" in obj for elem in obj["map"].get("elem", [])}
    assert keys == {sid * SPAN + i for i in range(3)}


def test_a_service_added_by_update_is_answered(env) -> None:
    env.reset(conf("rr"))
    r = env.lb.reload(two_services())  # :81 is elements and a chain (nft_render.update), no full render
    assert not r.errors, r.errors
    assert "add element inet pykeepalived dnat4_tcp_0" in env.backend.last_script
    assert "flush table" not in env.backend.last_script
    assert env.fetch(6, url=URL81) == Counter({w: 2 for w in WEBS})
    assert env.fetch(6) == Counter({w: 2 for w in WEBS})


def test_persistence_keeps_every_connection_of_a_client(env) -> None:
    env.reset(conf("rr", extra="  persistence_timeout 30\n"))
    got = env.fetch(6, SOURCES[0])
    assert len(got) == 1 and next(iter(got)) in WEBS and sum(got.values()) == 6, got
