"""nftables backend: golden render, update, read-back (also of the previous layout), conntrack counts, Maglev."""

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
V1 = Path(__file__).parent / "data" / "nft_layout_v1.nft"  # what the previous version rendered
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


def test_weight_change_is_that_service_elements_and_chain() -> None:
    old = table()
    new = table()
    new[WRR.key] = service(WRR, Dest("198.51.100.11", 8080, weight=5), *D[1:])
    ids = nft_render.assign_ids(old, {})
    text = nft_render.update(old, new, set(old), ids)  # every service touched: only the changed one is named
    assert text.splitlines() == [
        "delete element inet pykeepalived dnat4_tcp_0 { 65539, 65540 }",  # slots 3-4 were web2's
        "delete element inet pykeepalived weight4 { 1 . 198.51.100.11 . 8080 }",
        "add element inet pykeepalived dnat4_tcp_0 { 65539 : 198.51.100.11 . 8080, 65540 : 198.51.100.11 . 8080, "
        "65541 : 198.51.100.12 . 8080, 65542 : 198.51.100.12 . 8080 }",
        "add element inet pykeepalived weight4 { 1 . 198.51.100.11 . 8080 : 5 }",
        "flush chain inet pykeepalived s_tcp_192_0_2_80_80",
        "add rule inet pykeepalived s_tcp_192_0_2_80_80 ip daddr 192.0.2.80 tcp dport 80 dnat ip addr . port to "
        'numgen inc mod 7 offset 65536 map @dnat4_tcp_0 comment "pyk 4 TCP 192.0.2.80 80 0 wrr 0 0 32 1"',
    ]
    assert nft_render.update(old, table(), set(old), ids) == ""


# nft --debug=netlink of nft_render.KEY_PROBE: what Debian 11's nft 0.9.8 and Debian 12's nft 1.0.6 printed
DEBUG_098 = "probe pykeepalived 8\nprobe pykeepalived 0\n\telement 01000000  : 010200c0 0 [end]\n"
DEBUG_106 = "probe pykeepalived 8\nprobe pykeepalived 0\n\telement 00000001  : 010200c0 0 [end]\n"


def test_slot_keys_are_swapped_only_for_an_nft_that_swaps_them() -> None:
    assert nft_render.keys_swapped(DEBUG_098) and not nft_render.keys_swapped(DEBUG_106)
    assert not nft_render.keys_swapped("Error: syntax error")
    assert nft_render.slot_key(1, swap=True) == str(0x01000000) and nft_render.slot_key(65536, swap=True) == "256"
    assert nft_render.slot_key(65536) == "65536"
    swapped = nft_render.render(table(), swap=True)
    assert "add element inet pykeepalived dnat6_udp_0 { 1024 : [2001:db8::11] . 53, 16778240 : [2001:db8::12] . 53 }" \
        in swapped  # 262144 and 262145 (service 4's slots 0 and 1): 0x00040000, 0x00040001 byte-swapped
    # an update deletes the keys it wrote: the same encoding both ways
    old, new = table(), table()
    new[RR6.key] = service(RR6, Dest("2001:db8::11", 53))
    text = nft_render.update(old, new, {RR6.key}, nft_render.assign_ids(old, {}), swap=True)
    assert "delete element inet pykeepalived dnat6_udp_0 { 16778240 }" in text


def test_service_added_and_removed_are_elements_never_prerouting() -> None:
    old = table()
    new = table()
    del new[EMPTY.key]
    extra = ServiceSpec(ServiceKey.ip("TCP", "192.0.2.83", 80), "rr")
    new[extra.key] = service(extra, D[0])
    known = nft_render.assign_ids(old, {})
    ids = {**known, **nft_render.assign_ids(new, known)}
    assert ids[extra.key] == 5  # the removed service's id (3) is not reused in the same transaction
    lines = nft_render.update(old, new, {EMPTY.key, extra.key}, ids).splitlines()
    assert lines == [
        "add chain inet pykeepalived s_tcp_192_0_2_83_80",
        "add map inet pykeepalived dnat4_tcp_0 { typeof numgen inc mod 1 : ip daddr . tcp dport; }",  # shard, if new
        "delete element inet pykeepalived vs4 { 192.0.2.82 . tcp . 80 }",
        "add element inet pykeepalived vs4 { 192.0.2.83 . tcp . 80 : jump s_tcp_192_0_2_83_80 }",
        "add element inet pykeepalived dnat4_tcp_0 { 327680 : 198.51.100.11 . 8080 }",
        "add element inet pykeepalived weight4 { 5 . 198.51.100.11 . 8080 : 3 }",
        "add rule inet pykeepalived s_tcp_192_0_2_83_80 ip daddr 192.0.2.83 tcp dport 80 dnat ip addr . port to "
        'numgen inc mod 1 offset 327680 map @dnat4_tcp_0 comment "pyk 4 TCP 192.0.2.83 80 0 rr 0 0 32 5"',
        "flush chain inet pykeepalived s_tcp_192_0_2_82_80",
        "delete chain inet pykeepalived s_tcp_192_0_2_82_80",
    ]


def test_fwmark_port0_and_ipv6_services_round_trip() -> None:
    """Every dispatch map and slot map kind, through update (not a full render) and back through parse."""
    nft = FakeNft()
    nft.apply(reconcile(table(), nft.dump()))
    want = table()
    any_port = ServiceSpec(ServiceKey.ip("UDP", "192.0.2.84", 0), "sh")
    mark6 = ServiceSpec(ServiceKey.mark(6, 9), "mh")
    bare = ServiceSpec(ServiceKey.mark(4, 8), "rr")  # real servers without a port: DNAT to the address only
    want[any_port.key] = service(any_port, D[0], D[1])
    want[mark6.key] = service(mark6, Dest("2001:db8::11", 443), Dest("2001:db8::12", 443))
    want[bare.key] = service(bare, Dest("198.51.100.11", 0), Dest("198.51.100.12", 0))
    assert all(a.ok for a in nft.apply(reconcile(want, nft.dump(), set(want))))
    text = nft.script_text
    assert "flush table" not in text and "prerouting" not in text
    assert "add element inet pykeepalived vs4_anyport { 192.0.2.84 . udp : jump s_udp_192_0_2_84_0 }" in text
    assert "add element inet pykeepalived fwm6 { 9 : jump s_fwm6_9 }" in text
    assert "meta mark 8 meta nfproto ipv4 meta l4proto { tcp, udp, sctp } dnat ip to numgen inc mod 2" in text
    assert "map @dnat4_addr_0" in text and "map @dnat6_sctp_0" in text
    fresh = FakeNft()
    fresh.state = nft.state
    assert fresh.dump() == want and fresh.migrations == 0
    assert fresh.ids == nft.ids


def test_previous_layout_is_adopted_and_moved_in_one_transaction() -> None:
    """What the previous version wrote (data/nft_layout_v1.nft, its golden render) is read and rewritten."""
    nft = FakeNft()
    nft.state = ({}, {})
    nft._transaction(V1.read_text().replace("delete map inet pykeepalived p_gone\n", "")
                     .replace("delete map inet pykeepalived w_old\n", "").replace("delete chain inet pykeepalived s_gone\n", ""))
    assert any(name.startswith("w_") for name in nft.state[0])
    transactions = nft.transactions
    assert nft.dump(counts=False) == table()  # the old layout read back whole
    assert nft.migrations == 1 and nft.transactions == transactions + 1  # and moved at once, in one transaction
    moved = nft.script_text
    assert "flush table inet pykeepalived" in moved and "delete map inet pykeepalived w_tcp_192_0_2_80_80" in moved
    assert "add map inet pykeepalived vs4 {" in moved and not any(n.startswith("w_") for n in nft.state[0])
    assert reconcile(table(), nft.dump(counts=False), set(table())) == []
    fresh = FakeNft()
    fresh.state = nft.state
    assert fresh.dump(counts=False) == table() and fresh.migrations == 0


def test_ids_are_kept_and_reused_only_after_their_service_is_gone() -> None:
    a, b, c = (ServiceKey.ip("TCP", "192.0.2.80", p) for p in (80, 81, 82))
    ids = nft_render.assign_ids([a, b], {})
    assert ids == {a: 0, b: 1}
    assert nft_render.assign_ids([b, c], ids) == {b: 1, c: 2}  # a leaves in this transaction: 0 not reused
    assert nft_render.assign_ids([b, c], {b: 1}) == {b: 1, c: 0}


def test_weights_beyond_the_slot_window_are_scaled() -> None:
    spec = ServiceSpec(ServiceKey.ip("TCP", "192.0.2.80", 80), "wrr")
    mod, runs = nft_render.slots(service(spec, Dest("198.51.100.11", 80, weight=60000),
                                         Dest("198.51.100.12", 80, weight=30000)))
    assert mod <= nft_render.SPAN and [b - a + 1 for a, b, _ in runs] == [43689, 21844]


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


def test_full_render_after_updates_deletes_only_what_exists() -> None:
    """The backend's record of our maps and chains follows its updates, so a later full render deletes
    exactly what is there (a stale name would fail the transaction and cost a listing)."""
    nft = FakeNft()
    want = table()
    nft.apply(reconcile(want, nft.dump(counts=False)))
    far = ServiceSpec(ServiceKey.ip("TCP", "192.0.2.90", 80), "rr")
    want[far.key] = service(far, D[0])
    del want[EMPTY.key]
    assert all(a.ok for a in nft.apply(reconcile(want, nft.dump(counts=False), set(want) | {EMPTY.key})))
    assert "add map inet pykeepalived dnat4_tcp_0 " in nft.script_text and nft.maps.count("dnat4_tcp_0") == 1
    assert "flush table" not in nft.script_text and nft.listings == 1
    assert "s_tcp_192_0_2_82_80" not in nft.chains and "s_tcp_192_0_2_90_80" in nft.chains
    nft._full = True  # as after a listing
    want[WRR.key] = service(WRR, *D[:2])
    assert all(a.ok for a in nft.apply(reconcile(want, nft.dump(counts=False), set(want))))
    assert "flush table" in nft.script_text and nft.listings == 1
    fresh = FakeNft()
    fresh.state = nft.state
    assert fresh.dump(counts=False) == want
