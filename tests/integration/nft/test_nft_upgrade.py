"""Day two: a daemon of the previous version left its nftables layout (one ``prerouting`` jump per
service, ``w_<svc>`` weight maps); the new daemon adopts it at start and moves it to verdict maps in
one transaction. Established connections survive and new ones keep working across the switch: a
client connects every 50 ms through the VIP throughout, and every attempt is counted.

data/layout_v1.nft is what the previous version's ``nft_render.render`` wrote for this config.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from pykeepalived.config.loader import loads_config
from pykeepalived.lb.nft_render import parse
from pykeepalived.lb.nftables import NftBackend
from pykeepalived.lb.plane import LoadBalancer

HERE = Path(__file__).resolve().parent
LAB_TOPOLOGY = HERE / "nft-topology.yml"
WEBS = ("web1", "web2", "web3")
CONFIG = """global_defs { lb_backend nftables }
virtual_server 192.0.2.80 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 8080 { }
  real_server 198.51.100.12 8080 { }
  real_server 198.51.100.13 8080 { }
}
virtual_server 192.0.2.80 81 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 8080 { weight 2 }
  real_server 198.51.100.12 8080 { weight 1 }
}
"""


def _serve(lab) -> None:
    for host in WEBS:
        lab.popen(host, [sys.executable, str(HERE / "webserver.py"), host, "8080"],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    for host in WEBS:
        while ":8080" not in lab.exec(host, ["ss", "-ltnH"]).stdout:
            assert time.monotonic() < deadline, f"{host}: web server not listening"
            time.sleep(0.05)


def _listing(lab) -> dict:
    return json.loads(lab.exec("lb", ["nft", "-j", "list", "table", "inet", "pykeepalived"]).stdout)


def test_previous_layout_moves_to_verdict_maps_without_losing_a_connection(lab, tmp_path) -> None:
    _serve(lab)
    lab.exec("lb", ["nft", "-f", str(HERE / "data" / "layout_v1.nft")])
    names = {o["chain"]["name"] for o in _listing(lab)["nftables"] if "chain" in o}
    assert "prerouting" in names and "s_tcp_192_0_2_80_80" in names
    stream = lab.popen("client", [sys.executable, str(HERE / "client.py"), "stream",
                                  "http://192.0.2.80/stream?n=60&d=0.25"], stdout=subprocess.PIPE, text=True)
    first = stream.stdout.readline().split()  # established through the old layout
    assert first, "stream gave nothing"
    probes = {port: lab.popen("client", [sys.executable, str(HERE / "client.py"), "probe",
                                         f"http://192.0.2.80:{port}/", "0.05"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for port in (80, 81)}
    rows: dict[int, list[list[str]]] = {port: [proc.stdout.readline().split()] for port, proc in probes.items()}
    time.sleep(0.5)  # a few more attempts through the old layout
    config, diags = loads_config(CONFIG)
    assert not diags.errors, [str(e) for e in diags.errors]
    backend = NftBackend(prefix=lab.enter_argv("lb"))
    lb = LoadBalancer(config, backend, tmp_path / "run")
    switch = time.time()
    r = lb.start()  # lists the table (the old layout), moves it, then reconciles: nothing left to do
    switched = time.time()
    try:
        assert not r.errors and r.ops == [], (r.errors, r.ops)
        assert backend.migrations == 1 and "flush table inet pykeepalived" in backend.last_script
        for port, proc in probes.items():
            while len([t for t, _ in rows[port] if float(t) > switched]) < 10:  # attempts through the new layout
                line = proc.stdout.readline().split()
                assert line, f"port {port}: prober ended"
                rows[port].append(line)
            out, _ = proc.communicate(timeout=30)  # closes its stdin: the prober stops
            rows[port] += [ln.split() for ln in out.splitlines() if ln]
            got = [who for _, who in rows[port]]
            assert [w for w in got if w not in WEBS] == [], (port, got)  # every attempt answered: 0 failed
            assert float(rows[port][0][0]) < switch, port  # the first attempt went through the old layout
        assert stream.poll() is None  # the established connection is still open after the switch (15 s)
        out, _ = stream.communicate(timeout=60)
        lines = [ln for ln in out.split("\n") if ln]
        assert lines[-1] == "END" and len(lines) == 60  # the 59 lines after the first, then END
        assert {ln.split()[0] for ln in lines[:-1]} == {first[0]}  # the same real server throughout
        doc = _listing(lab)
        maps = {o["map"]["name"] for o in doc["nftables"] if "map" in o}
        assert {"vs4", "weight4", "dnat4_tcp_0"} <= maps and not any(m.startswith("w_") for m in maps)
        rules = [o["rule"] for o in doc["nftables"] if "rule" in o and o["rule"]["chain"] == "prerouting"]
        assert len(rules) == 6  # the fixed verdict-map lookups, no jump per service
        table, _, _ = parse(doc)
        assert {str(k): {str(d): d.weight for d in s.dests.values()} for k, s in table.items()} == {
            "TCP 192.0.2.80:80": {"198.51.100.11:8080": 1, "198.51.100.12:8080": 1, "198.51.100.13:8080": 1},
            "TCP 192.0.2.80:81": {"198.51.100.11:8080": 2, "198.51.100.12:8080": 1}}
        assert lb.reconcile().ops == []
    finally:
        lb.stop()
        backend.delete_table()
