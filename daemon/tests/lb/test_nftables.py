"""nftables backend: golden render, read-back, conntrack counts, Maglev, backend selection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pykeepalived.compat import zip_strict
from pykeepalived.lb import nft_render
from pykeepalived.lb.nftables import parse_conntrack
from pykeepalived.lb.reconcile import reconcile
from pykeepalived.lb.select import backend_name, nftables_errors, select_backend
from pykeepalived.lb.table import Dest, Op, ServiceKey, ServiceSpec, make_table, service

from .fake_nft import FakeNft
from .helpers import conf

GOLDEN = Path(__file__).parent / "data" / "nft_golden.nft"
D = [Dest("198.51.100.11", 8080, weight=3), Dest("198.51.100.12", 8080, weight=2),
     Dest("198.51.100.13", 8080, weight=0)]
WRR = ServiceSpec(ServiceKey.ip("TCP", "192.0.2.80", 80), "wrr")
SH = ServiceSpec(ServiceKey.ip("TCP", "192.0.2.81", 80), "sh", True, 300, 24)
RR6 = ServiceSpec(ServiceKey.ip("UDP", "2001:db8::80", 53), "rr")
DH = ServiceSpec(ServiceKey.mark(4, 7), "dh")
EMPTY = ServiceSpec(ServiceKey.ip("TCP", "192.0.2.82", 80), "rr")


def table():
    six = [Dest("2001:db8::11", 53), Dest("2001:db8::12", 53, weight=4)]
    return make_table(service(WRR, *D), service(SH, *D), service(RR6, *six), service(DH, *D), service(EMPTY))


def test_render_golden() -> None:
    text = nft_render.render(table(), existing_maps=["w_old", "p_tcp_192_0_2_81_80_300_24_aee1fe1e", "p_gone"],
                             existing_chains=["s_gone", "s_tcp_192_0_2_80_80", "prerouting"])
    assert text == GOLDEN.read_text()


def test_render_keeps_wanted_persistence_maps_only() -> None:
    text = nft_render.render(table(), existing_maps=["p_tcp_192_0_2_81_80_300_24_aee1fe1e", "p_gone", "w_x"])
    assert "delete map inet pykeepalived p_gone" in text and "delete map inet pykeepalived w_x" in text
    assert "delete map inet pykeepalived p_tcp_192_0_2_81_80_300_24_aee1fe1e" not in text
    assert text.index("flush table") < text.index("delete map") < text.index("table inet pykeepalived {")


def test_persistence_map_changes_with_live_set() -> None:
    a = nft_render.persist_name(service(SH, *D))
    same = nft_render.persist_name(service(SH, *D[:2], Dest("198.51.100.13", 8080, weight=0)))
    drained = nft_render.persist_name(service(SH, D[0], Dest("198.51.100.12", 8080, weight=0)))
    assert a == same != drained


def test_slots_weighted_and_rr() -> None:
    mod, runs = nft_render.slots(service(WRR, *D))
    assert mod == 5 and [(a, b, str(d)) for a, b, d in runs] == [
        (0, 2, "198.51.100.11:8080"), (3, 4, "198.51.100.12:8080")]
    mod, runs = nft_render.slots(service(EMPTY, *D))
    assert mod == 2 and [(a, b) for a, b, _ in runs] == [(0, 0), (1, 1)]  # rr ignores weights, skips 0


def test_maglev_is_balanced_and_consistent() -> None:
    names = [f"198.51.100.{i}:80" for i in range(1, 6)]
    full = nft_render.maglev(names)
    counts = Counter(full)
    assert len(full) == nft_render.MH_SIZE and max(counts.values()) - min(counts.values()) <= 1
    less = nft_render.maglev(names[:2] + names[3:])  # one server gone
    moved = sum(1 for i, j in zip_strict(full, less) if full[i] != 2 and names[i] != (names[:2] + names[3:])[j])
    assert moved <= nft_render.MH_SIZE // 10  # Maglev: others' clients barely move (here ~0-5%)


def test_comment_round_trip() -> None:
    for spec in (WRR, SH, RR6, DH):
        assert nft_render.parse_comment(nft_render.comment(spec)) == spec
    assert nft_render.parse_comment("someone else's rule") is None


def test_backend_round_trip_and_idempotence() -> None:
    nft = FakeNft()
    want = table()
    applied = nft.apply(reconcile(want, nft.dump()))
    assert all(a.ok for a in applied)
    assert nft.dump() == want
    assert reconcile(want, nft.dump(), set(want)) == []
    nft.apply([Op("del", s.spec) for s in want.values()])
    assert nft.script_text is None  # empty: the table itself is deleted


def test_weight_change_is_one_service_map_and_chain() -> None:
    old = table()
    new = table()
    new[WRR.key] = service(WRR, Dest("198.51.100.11", 8080, weight=5), *D[1:])
    text = nft_render.update(old, new, set(old))  # every service touched: only the changed one is named
    assert text.splitlines() == [
        "delete map inet pykeepalived w_tcp_192_0_2_80_80",
        "add map inet pykeepalived w_tcp_192_0_2_80_80 { type ipv4_addr . inet_service : mark; "
        "elements = { 198.51.100.11 . 8080 : 5, 198.51.100.12 . 8080 : 2, 198.51.100.13 . 8080 : 0 } }",
        "flush chain inet pykeepalived s_tcp_192_0_2_80_80",
        "add rule inet pykeepalived s_tcp_192_0_2_80_80 ip daddr 192.0.2.80 tcp dport 80 dnat ip addr . port to "
        "numgen inc mod 7 map { 0-4 : 198.51.100.11 . 8080, 5-6 : 198.51.100.12 . 8080 } "
        'comment "pyk 4 TCP 192.0.2.80 80 0 wrr 0 0 32"',
    ]
    assert nft_render.update(old, table(), set(old)) == ""


def test_service_added_and_removed_rewrite_prerouting_only() -> None:
    old = table()
    new = table()
    del new[EMPTY.key]
    extra = ServiceSpec(ServiceKey.ip("TCP", "192.0.2.83", 80), "rr")
    new[extra.key] = service(extra, D[0])
    lines = nft_render.update(old, new, {EMPTY.key, extra.key}).splitlines()
    assert lines[:2] == ["add map inet pykeepalived w_tcp_192_0_2_83_80 { type ipv4_addr . inet_service : mark; "
                         "elements = { 198.51.100.11 . 8080 : 3 } }",
                         "add chain inet pykeepalived s_tcp_192_0_2_83_80"]
    assert "flush chain inet pykeepalived prerouting" in lines and "flush chain inet pykeepalived forward" not in lines
    assert lines[-3:] == ["flush chain inet pykeepalived s_tcp_192_0_2_82_80",
                          "delete chain inet pykeepalived s_tcp_192_0_2_82_80",
                          "delete map inet pykeepalived w_tcp_192_0_2_82_80"]
    assert not any("w_tcp_192_0_2_80_80" in ln for ln in lines)  # untouched services are not named


def test_backend_lists_once_and_relists_when_the_kernel_disagrees() -> None:
    nft = FakeNft()
    want = table()
    nft.apply(reconcile(want, nft.dump(counts=False)))
    for w in (5, 6, 0):  # weight changes and a drain: element updates, no listing
        want[WRR.key] = service(WRR, Dest("198.51.100.11", 8080, weight=w), *D[1:])
        assert all(a.ok for a in nft.apply(reconcile(want, nft.dump(counts=False), set(want))))
        assert "flush table" not in nft.script_text
    assert nft.listings == 1 and nft.dump(counts=False) == want
    nft.state = None  # someone deleted our table behind our back
    want[WRR.key] = service(WRR, *D)
    assert all(a.ok for a in nft.apply(reconcile(want, nft.dump(counts=False), set(want))))
    assert nft.listings == 2 and "flush table" in nft.script_text
    fresh = FakeNft()
    fresh.state = nft.state
    assert fresh.dump() == want


def test_bad_op_reported_rest_applied() -> None:
    nft = FakeNft()
    r = nft.apply([Op("add", WRR), Op("add", WRR), Op("add", WRR, D[0])])
    assert [a.ok for a in r] == [True, False, True]
    assert list(nft.dump()[WRR.key].dests) == [D[0].key]


CONNTRACK = """\
tcp      6 431999 ESTABLISHED src=192.0.2.100 dst=192.0.2.80 sport=40000 dport=80 src=198.51.100.11 dst=192.0.2.100 sport=8080 dport=40000 [ASSURED] mark=0 use=1
tcp      6 431998 ESTABLISHED src=192.0.2.101 dst=192.0.2.80 sport=40001 dport=80 src=198.51.100.11 dst=192.0.2.101 sport=8080 dport=40001 [ASSURED] mark=0 use=1
tcp      6 100 TIME_WAIT src=192.0.2.100 dst=192.0.2.80 sport=40002 dport=80 src=198.51.100.12 dst=192.0.2.100 sport=8080 dport=40002 [ASSURED] mark=0 use=1
udp      17 29 src=2001:db8::100 dst=2001:db8::80 sport=5000 dport=53 src=2001:db8::11 dst=2001:db8::100 sport=53 dport=5000 mark=7 use=1
conntrack v1.4.7 (conntrack-tools): 4 flow entries have been shown.
"""


def test_conntrack_counts() -> None:
    by_addr, by_mark = parse_conntrack(CONNTRACK)
    assert by_addr[("192.0.2.80", 80, "198.51.100.11", 8080)] == [2, 0]
    assert by_addr[("192.0.2.80", 80, "198.51.100.12", 8080)] == [0, 1]
    assert by_addr[("2001:db8::80", 53, "2001:db8::11", 53)] == [0, 1]
    assert by_mark == {(7, "2001:db8::11", 53): [0, 1]}


BAD = """global_defs {{ lb_backend {backend} }}
virtual_server 192.0.2.1 80 {{ protocol TCP
  lb_algo wlc
  lb_kind DR
  real_server 10.1.0.1 80 {{ uthreshold 5 }}
  real_server 10.1.0.2 80 {{ lb_kind TUN }}
}}
virtual_server 192.0.2.2 80 {{ protocol TCP lb_algo mh real_server 10.1.0.1 80 {{ }} }}
"""


def test_nftables_refuses_what_it_cannot_express_with_locations() -> None:
    errors = nftables_errors(conf(BAD.format(backend="nftables")))
    why = "cannot be expressed by the nftables backend (lb_backend nftables)"
    assert errors == [
        f"<string>:3:3: error: virtual_server 192.0.2.1:80: lb_algo wlc {why}; "
        "use one of rr, wrr, sh, dh, mh, or lb_backend ipvs",
        f"<string>:4:3: error: virtual_server 192.0.2.1:80: lb_kind DR {why}; "
        "it does NAT only: a DR rewrite of the destination MAC (fwd) exists only in the netdev ingress hook, "
        "before conntrack, so established connections could not be kept on their server; "
        "use lb_kind NAT, or lb_backend ipvs",
        f"<string>:5:29: error: virtual_server 192.0.2.1:80: real_server 10.1.0.1: uthreshold {why}; "
        "remove it, or use lb_backend ipvs",
        f"<string>:6:29: error: virtual_server 192.0.2.1:80: real_server 10.1.0.2: lb_kind TUN {why}; "
        "it does NAT only: it has no IP-in-IP encapsulation; use lb_kind NAT, or lb_backend ipvs",
    ]


def test_select_backend() -> None:
    auto = conf(BAD.format(backend="auto"))
    assert backend_name(auto, True) == "ipvs" and backend_name(auto, False) == "nftables"
    errors = select_backend(auto, kernel_has_ipvs=False)
    assert isinstance(errors, list) and len(errors) == 4
    assert all("lb_backend auto, and the kernel has no IPVS" in e for e in errors)
    assert "no IPVS" in select_backend(conf(BAD.format(backend="ipvs")), kernel_has_ipvs=False)[0]
    ok = conf("global_defs { lb_backend nftables }\nvirtual_server 192.0.2.1 80 { lb_algo sh "
              "real_server 10.1.0.1 80 { } }")
    backend = select_backend(ok, kernel_has_ipvs=True, nft_prefix=["ip", "netns", "exec", "x"])
    assert backend.name == "nftables" and backend.prefix == ["ip", "netns", "exec", "x"]
