"""pykeepalived's nftables plane on the host kernel (IPVS is not needed): client | lb | web1-3 + sorry.

The plane runs in this process; its NftBackend runs nft/conntrack inside the
lb netns. Assertions read the kernel (``nft -j list table inet pykeepalived``,
conntrack through the backend's dump) and what the client received.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.lb.nft_render import parse
from pykeepalived.lb.nftables import NftBackend
from pykeepalived.lb.plane import LoadBalancer

HERE = Path(__file__).resolve().parent
LAB_TOPOLOGY = HERE / "nft-topology.yml"
WEBS = ("web1", "web2", "web3")
IP = {"web1": "198.51.100.11", "web2": "198.51.100.12", "web3": "198.51.100.13"}
VS = "TCP 192.0.2.80:80"
URL = "http://192.0.2.80/"
SOURCES = ["192.0.2.100", "192.0.2.101", "192.0.2.102", "192.0.2.103"]


def conf(sched: str = "rr", weights=(1, 1, 1), extra: str = ""):
    rs = "".join(f"  real_server {IP[w]} 8080 {{ weight {n} }}\n" for w, n in zip(WEBS, weights, strict=True))
    text = (f"global_defs {{ lb_backend nftables }}\nvirtual_server 192.0.2.80 80 {{\n  protocol TCP\n  lb_algo {sched}\n"
            f"  lb_kind NAT\n  sorry_server 198.51.100.20 8080\n{extra}{rs}}}\n")
    config, diags = loads_config(text)
    assert not diags.errors, [str(e) for e in diags.errors]
    return config


class Env:
    def __init__(self, lab, runtime: Path) -> None:
        self.lab = lab
        self.backend = NftBackend(prefix=lab.enter_argv("lb"))
        self.lb = LoadBalancer(conf(), self.backend, runtime)

    def reset(self, config) -> None:
        self.lb.health.clear()
        self.lb.overrides.drained.clear()
        self.lb.overrides.weights.clear()
        r = self.lb.reload(config)
        assert not r.errors, r.errors

    def kernel(self) -> dict[str, dict[str, int]]:
        """Our table as the kernel holds it: {service: {dest: weight}}."""
        out = self.lab.exec("lb", ["nft", "-j", "list", "table", "inet", "pykeepalived"]).stdout
        table, _, _ = parse(json.loads(out))
        return {str(k): {str(d): d.weight for d in s.dests.values()} for k, s in table.items()}

    def rules(self) -> str:
        return self.lab.exec("lb", ["nft", "list", "table", "inet", "pykeepalived"]).stdout

    def fetch(self, n: int, *sources: str, url: str = URL) -> Counter:
        out = self.lab.exec("client", [sys.executable, str(HERE / "client.py"), "fetch", url, str(n), *sources],
                            timeout=60).stdout
        return Counter(out.split())

    def per_source(self, n: int) -> dict[str, set[str]]:
        out = self.lab.exec("client", [sys.executable, str(HERE / "client.py"), "fetch", URL, str(n), *SOURCES],
                            timeout=60).stdout.split()
        seen: dict[str, set[str]] = {}
        for i, who in enumerate(out):
            seen.setdefault(SOURCES[i % len(SOURCES)], set()).add(who)
        return seen

    def stream(self, n: int = 15, d: float = 0.2) -> subprocess.Popen:
        proc = self.lab.popen("client", [sys.executable, str(HERE / "client.py"), "stream",
                                         f"{URL}stream?n={n}&d={d}"], stdout=subprocess.PIPE, text=True)
        return proc


def start_webservers(lab) -> None:
    for host in (*WEBS, "sorry"):
        lab.popen(host, [sys.executable, str(HERE / "webserver.py"), host, "8080"],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    for host in (*WEBS, "sorry"):
        while ":8080" not in lab.exec(host, ["ss", "-ltnH"]).stdout:
            assert time.monotonic() < deadline, f"{host}: web server not listening"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def env(lab, tmp_path_factory):
    start_webservers(lab)
    lab.exec("lb", ["nft", "add", "table", "ip", "foreign"])  # someone else's table: never touched
    e = Env(lab, tmp_path_factory.mktemp("nftrun"))
    r = e.lb.start()
    assert not r.errors, r.errors
    yield e
    e.lb.stop()
    e.backend.delete_table()


def test_rr_balances_evenly_and_reconcile_is_idempotent(env) -> None:
    env.reset(conf("rr"))
    assert env.kernel() == {VS: {f"{IP[w]}:8080": 1 for w in WEBS}}
    assert "numgen inc mod 3" in env.rules()
    assert env.fetch(6) == Counter({"web1": 2, "web2": 2, "web3": 2})
    assert env.lb.reconcile().ops == []


def test_wrr_follows_weights(env) -> None:
    env.reset(conf("wrr", (3, 2, 1)))
    assert env.kernel() == {VS: {"198.51.100.11:8080": 3, "198.51.100.12:8080": 2, "198.51.100.13:8080": 1}}
    assert env.fetch(12) == Counter({"web1": 6, "web2": 4, "web3": 2})


@pytest.mark.parametrize("sched", ["sh", "mh"])
def test_hashing_is_sticky_per_source(env, sched: str) -> None:
    env.reset(conf(sched))
    assert f"jhash ip saddr mod {251 if sched == 'mh' else 3}" in env.rules()
    seen = env.per_source(16)
    assert all(len(who) == 1 for who in seen.values()), seen
    env.lb.reload(conf(sched, extra="  delay_loop 7\n"))  # a reconcile re-renders: same seed, same mapping
    assert env.per_source(8) == seen


def test_persistence_keeps_a_client_on_one_server(env) -> None:
    env.reset(conf("rr", extra="  persistence_timeout 30\n"))
    assert env.fetch(6, SOURCES[0]).most_common(1)[0][1] == 6
    listing = env.rules()
    assert "192.0.2.100 expires" in listing, listing  # the dynamic map learnt the client


def test_failure_removal_and_recovery(env) -> None:
    env.reset(conf("rr"))
    env.lb.set_health(VS, (IP["web2"], 8080), False)
    env.lb.reconcile()
    assert env.kernel() == {VS: {"198.51.100.11:8080": 1, "198.51.100.13:8080": 1}}
    assert env.fetch(6) == Counter({"web1": 3, "web3": 3})
    env.lb.set_health(VS, (IP["web2"], 8080), True)
    env.lb.reconcile()
    assert env.fetch(6) == Counter({"web1": 2, "web2": 2, "web3": 2})


def test_sorry_server_takes_over_and_leaves(env) -> None:
    env.reset(conf("rr"))
    for w in WEBS:
        env.lb.set_health(VS, (IP[w], 8080), False)
    r = env.lb.reconcile()
    assert [e.up for e in r.events] == [False]
    assert env.kernel() == {VS: {"198.51.100.20:8080": 1}}
    assert env.fetch(3) == Counter({"sorry": 3})
    env.lb.set_health(VS, (IP["web1"], 8080), True)
    env.lb.reconcile()
    assert env.fetch(3) == Counter({"web1": 3})


def _first_line(proc: subprocess.Popen) -> str:
    line = proc.stdout.readline().strip()
    assert line, "stream gave nothing"
    return line.split()[0]


def test_drain_keeps_established_connection(env) -> None:
    env.reset(conf("rr"))
    proc = env.stream(15, 0.2)  # ~3 s of output on one connection
    who = _first_line(proc)
    env.lb.drain(IP[who])
    env.lb.reconcile()
    assert env.kernel()[VS][f"{IP[who]}:8080"] == 0  # still there, weight 0
    assert who not in env.fetch(6)  # new connections go elsewhere
    kernel = {k["service"]: k for rs in env.lb.status()["virtual_servers"][0]["real_servers"]
              if rs["address"] == IP[who] for k in rs["kernel"]}
    assert kernel[VS]["active"] >= 1  # conntrack: the drained server still carries the stream
    only = {k["service"]: k for rs in env.lb.status(servers={IP[who]})["virtual_servers"][0]["real_servers"]
            if rs["address"] == IP[who] for k in rs["kernel"]}
    assert only[VS]["active"] >= 1  # conntrack --reply-src: that server's connections only
    out, _ = proc.communicate(timeout=15)
    lines = [ln for ln in out.split("\n") if ln]
    assert lines[-1] == "END" and len(lines) == 15 and {ln.split()[0] for ln in lines[:-1]} == {who}
    env.lb.drain(IP[who], drained=False)


def test_reload_keeps_connections(env) -> None:
    env.reset(conf("rr"))
    proc = env.stream(10, 0.2)
    who = _first_line(proc)
    r = env.lb.reload(conf("wrr", (1, 2, 3)))  # the service's chain is rewritten, its weights updated
    assert r.ops and not r.errors
    out, _ = proc.communicate(timeout=15)
    lines = [ln for ln in out.split("\n") if ln]
    assert lines[-1] == "END" and len(lines) == 10 and {ln.split()[0] for ln in lines[:-1]} == {who}


def test_weight_change_is_a_small_transaction(env) -> None:
    env.reset(conf("wrr"))
    listings = env.backend.listings
    env.lb.set_weight(IP["web1"], 4)
    r = env.lb.reconcile()
    assert [str(o) for o in r.ops] == [f"set dest {VS} -> {IP['web1']}:8080"] and not r.errors
    script = env.backend.last_script
    assert "flush table" not in script and "prerouting" not in script, script
    sid = env.backend.ids[next(iter(env.backend.dump(counts=False)))]
    assert f"delete element inet pykeepalived weight4 {{ {sid} . {IP['web1']} . 8080 }}\n" in script
    assert f"add element inet pykeepalived weight4 {{ {sid} . {IP['web1']} . 8080 : 4 }}\n" in script
    assert "flush chain inet pykeepalived s_tcp_192_0_2_80_80\n" in script  # its modulus: 6 slots now
    assert env.kernel() == {VS: {"198.51.100.11:8080": 4, "198.51.100.12:8080": 1, "198.51.100.13:8080": 1}}
    assert env.fetch(12) == Counter({"web1": 8, "web2": 2, "web3": 2})
    assert env.backend.listings == listings  # what we wrote is remembered, not listed back
    env.lb.set_weight(IP["web1"], None)


def test_table_deleted_behind_our_back_is_rewritten(env, lab) -> None:
    env.reset(conf("rr"))
    lab.exec("lb", ["nft", "delete", "table", "inet", "pykeepalived"])
    env.lb.drain(IP["web2"])
    r = env.lb.reconcile()  # the map update fails: the backend lists, then writes the whole table
    assert not r.errors, r.errors
    assert env.kernel() == {VS: {"198.51.100.11:8080": 1, "198.51.100.12:8080": 0, "198.51.100.13:8080": 1}}
    assert env.fetch(4) == Counter({"web1": 2, "web3": 2})
    env.lb.drain(IP["web2"], drained=False)


def test_stop_removes_only_our_table(env, lab) -> None:
    env.reset(conf("rr"))
    env.lb.stop()
    tables = lab.exec("lb", ["nft", "list", "tables"]).stdout
    assert "pykeepalived" not in tables and "table ip foreign" in tables
    assert env.lb.start().ops  # back for whatever runs next
