"""Two or three VrrpRouters on a simulated LAN with a virtual clock.

Priorities are chosen so every time is exact in binary floating point:
(256 - p) / 256 is a multiple of 1/256.  v2, advert_int 1:

    priority 200: Skew_Time 0.21875,  Master_Down_Interval 3.21875
    priority 100: Skew_Time 0.609375, Master_Down_Interval 3.609375
"""
from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from vrrp_lan import Lan

from pykeepalived.vrrp.events import (
    AddAddresses,
    GarpReason,
    RemoveAddresses,
    SendAdvert,
    SendGratuitousArp,
    State,
    StateChanged,
)
from pykeepalived.vrrp.fsm import VrrpRouter
from pykeepalived.vrrp.packet import Advertisement, DropReason
from pykeepalived.vrrp.router_config import RouterConfig
from pykeepalived.vrrp.timers import HANDOVER_LINGER

A_ADDR, B_ADDR, C_ADDR = (IPv4Address(f"192.0.2.{n}") for n in (1, 2, 3))
VIPS = (IPv4Address("192.0.2.100"), IPv4Address("192.0.2.101"))
MDI_200, MDI_100 = 3.21875, 3.609375
SKEW_100 = 0.609375
LINGER = HANDOVER_LINGER  # a handing-over master keeps its VIPs this long past the new one's advert


def router(addr: IPv4Address, priority: int, **kw) -> VrrpRouter:
    return VrrpRouter(RouterConfig(vrid=51, priority=priority, address=addr, virtual_addresses=VIPS, **kw))


def pair(a_kw: dict | None = None, b_kw: dict | None = None) -> Lan:
    lan = Lan()
    lan.add("A", router(A_ADDR, 200, **(a_kw or {})))
    lan.add("B", router(B_ADDR, 100, **(b_kw or {})))
    return lan


def test_election_by_priority() -> None:
    lan = pair()
    lan.start("A", 0.0)
    lan.start("B", 0.0)
    lan.run_until(30.0)
    assert lan.became_master_at("A") == [MDI_200]
    assert lan.became_master_at("B") == []
    assert lan.state("B") is State.BACKUP
    assert lan.routers["B"].master_address == A_ADDR
    assert lan.routers["B"].counters.adverts_received == 27  # 3.21875 .. 29.21875
    assert lan.changes("A")[-1][-1] == "master_down"


def test_preemption_by_a_higher_priority_router_joining() -> None:
    lan = pair()
    lan.start("B", 0.0)
    lan.start("A", 10.0)
    lan.run_until(30.0)
    assert lan.became_master_at("B") == [MDI_100]
    # A discards B's lower-priority adverts, so its Master_Down_Timer from t=10 runs out
    assert lan.became_master_at("A") == [10.0 + MDI_200]
    assert lan.changes("A")[-1] == (10.0 + MDI_200, "A", State.BACKUP, State.MASTER, "preempt")
    assert lan.changes("B")[-1] == (10.0 + MDI_200, "B", State.MASTER, State.BACKUP, "higher_priority")
    assert any(isinstance(e.action, RemoveAddresses) for e in lan.of("B", RemoveAddresses))


def test_nopreempt_leaves_the_lower_master_in_place() -> None:
    lan = pair(a_kw={"preempt": False})
    lan.start("B", 0.0)
    lan.start("A", 10.0)
    lan.run_until(60.0)
    assert lan.state("A") is State.BACKUP and lan.state("B") is State.MASTER
    assert lan.routers["A"].master_address == B_ADDR


def test_preempt_delay_as_keepalived() -> None:
    lan = pair(a_kw={"preempt_delay": 5.0})
    lan.start("B", 0.0)
    lan.start("A", 10.0)
    lan.run_until(30.0)
    # first B advert heard at 10.609375 starts the delay (until 15.609375); adverts up to
    # 14.609375 are still accepted, the one at 15.609375 is not: takeover one MDI later
    assert lan.became_master_at("A") == [14.609375 + MDI_200]
    assert lan.became_master_at("A")[0] > 10.0 + MDI_200 + 4


def test_preempt_delay_does_not_delay_a_lone_backup() -> None:
    lan = Lan()
    lan.add("A", router(A_ADDR, 200, preempt_delay=5.0))
    lan.start("A", 0.0)
    lan.run_until(10.0)
    assert lan.became_master_at("A") == [MDI_200]


def test_equal_priority_tie_break_on_higher_address() -> None:
    lan = Lan()
    lan.add("A", router(A_ADDR, 100))
    lan.add("B", router(B_ADDR, 100))
    lan.unplug("A")
    lan.unplug("B")
    lan.start("A", 0.0)
    lan.start("B", 0.0)
    lan.run_until(10.0)
    assert lan.state("A") is lan.state("B") is State.MASTER  # split brain while apart
    lan.plug("A")
    lan.plug("B")
    lan.run_until(20.0)
    # at 10.609375 A's advert reaches B; B (higher address) answers; A steps down
    assert lan.state("B") is State.MASTER and lan.state("A") is State.BACKUP
    assert lan.changes("A")[-1] == (10.609375, "A", State.MASTER, State.BACKUP, "higher_priority")


def test_priority_zero_on_shutdown_backup_takes_over_after_skew_time() -> None:
    lan = pair({"graceful_handover": False})  # keepalived's way: the VIPs go with the advert
    lan.start("A", 0.0)
    lan.start("B", 0.0)
    lan.run_until(20.0)
    lan.shutdown("A")
    assert lan.sent("A")[-1] == (20.0, 0)
    assert lan.state("A") is State.INITIALIZE
    lan.run_until(30.0)
    assert lan.became_master_at("B") == [20.0 + SKEW_100]  # not 20 + Master_Down_Interval
    assert lan.changes("B")[-1][-1] == "priority_zero"
    assert lan.routers["B"].counters.priority_zero_received == 1
    assert lan.routers["A"].counters.priority_zero_sent == 1


def test_master_failure_backup_takes_over_after_exactly_master_down_interval() -> None:
    lan = pair()
    lan.start("A", 0.0)
    lan.start("B", 0.0)
    lan.run_until(20.5)
    last = lan.sent("A")[-1][0]
    assert last == MDI_200 + 17
    lan.crash("A")
    lan.run_until(40.0)
    assert lan.became_master_at("B") == [last + MDI_100]
    assert lan.changes("B")[-1][-1] == "master_down"


def test_v3_backup_learns_the_master_interval() -> None:
    lan = Lan()
    lan.add("A", router(A_ADDR, 200, version=3, advert_interval=0.5))
    lan.add("B", router(B_ADDR, 100, version=3, advert_interval=2.0))
    lan.start("A", 0.0)
    lan.start("B", 0.0)
    lan.run_until(10.0)
    b = lan.routers["B"]
    assert lan.became_master_at("A") == [1.609375]  # 3 * 0.5 + 56 * 0.5 / 256
    assert b.master_adver_interval == 0.5
    assert b.skew_time == 156 * 0.5 / 256  # v3 skew scales with Master_Adver_Interval
    assert b.master_down_interval == 1.8046875
    lan.crash("A")
    lan.run_until(20.0)
    assert lan.became_master_at("B") == [9.609375 + 1.8046875]
    times = [t for t, _ in lan.sent("B")]
    assert times[1] - times[0] == 2.0  # as master B uses its own interval


def test_v2_interval_mismatch_is_dropped_and_counted() -> None:
    lan = pair(b_kw={"advert_interval": 2})
    lan.start("A", 0.0)
    lan.start("B", 0.0)
    lan.run_until(10.0)
    b = lan.routers["B"]
    assert b.counters.drops[DropReason.INTERVAL] > 0 and b.counters.adverts_received == 0
    assert lan.state("A") is lan.state("B") is State.MASTER  # as keepalived: both master


def test_address_owner_goes_master_immediately() -> None:
    lan = Lan()
    lan.add("B", router(B_ADDR, 100))
    lan.add("O", router(C_ADDR, 255))
    lan.start("B", 0.0)
    lan.run_until(10.0)
    lan.start("O", 10.0)
    assert [type(e.action) for e in lan.log if e.router == "O"][:4] == [
        AddAddresses, SendAdvert, SendGratuitousArp, StateChanged]
    # B yields with its own priority first (split_brain_garp), which O answers
    assert lan.sent("B")[-1] == (10.0, 100)
    assert lan.sent("O") == [(10.0, 255), (10.0, 255)]
    assert lan.changes("O") == [(10.0, "O", State.INITIALIZE, State.MASTER, "address_owner")]
    assert lan.state("B") is State.BACKUP


def test_fault_and_recovery() -> None:
    lan = pair()
    lan.start("A", 0.0)
    lan.start("B", 0.0)
    lan.run_until(10.0)
    a = lan.routers["A"]
    a.set_fault(True, lan.now)
    lan.flush()
    assert lan.sent("A")[-1] == (10.0, 0)  # a master entering FAULT resigns first
    assert lan.state("A") is State.FAULT and a.next_deadline() is None
    received = a.counters.adverts_received
    lan.run_until(20.0)
    assert lan.became_master_at("B") == [10.0 + SKEW_100]
    assert a.counters.adverts_received == received  # FAULT ignores adverts
    a.set_fault(False, lan.now)
    lan.flush()
    assert lan.changes("A")[-1] == (20.0, "A", State.FAULT, State.BACKUP, "fault_cleared")
    lan.run_until(30.0)
    assert lan.became_master_at("A")[-1] == 20.0 + MDI_200  # preempts B again
    assert lan.state("B") is State.BACKUP


def test_master_answers_a_lower_priority_advert_at_once() -> None:
    lan = pair()
    lan.start("A", 0.0)
    lan.run_until(10.0)
    lan.inject(Advertisement(2, 51, 50, 1, VIPS, auth_data=bytes(8)), C_ADDR)
    at_ten = [e.action for e in lan.log if e.router == "A" and e.time == 10.0]
    assert at_ten[0] == SendAdvert(200, lan.routers["A"].config.advertisement(200))
    assert isinstance(at_ten[1], SendGratuitousArp) and at_ten[1].reason is GarpReason.LOWER_PRIORITY
    assert at_ten[1].repeat == 5
    lan.run_until(16.0)
    delayed = [e for e in lan.of("A", SendGratuitousArp) if e.action.reason is GarpReason.LOWER_PRIORITY_DELAY]
    assert [e.time for e in delayed] == [15.0]


def test_lower_prio_no_advert_is_strict_rfc() -> None:
    lan = pair(a_kw={"lower_prio_no_advert": True, "garp_lower_prio_repeat": 0})
    lan.start("A", 0.0)
    lan.run_until(10.0)
    lan.inject(Advertisement(2, 51, 50, 1, VIPS, auth_data=bytes(8)), C_ADDR)
    assert [e for e in lan.log if e.router == "A" and e.time == 10.0] == []


def test_three_routers_failover_chain() -> None:
    lan = pair()
    lan.add("C", router(C_ADDR, 150))
    for name in "ABC":
        lan.start(name, 0.0)
    lan.run_until(10.0)
    lan.shutdown("A")
    lan.run_until(20.0)
    # C (150) outranks B (100): its Skew_Time is shorter, so it wins the race
    assert lan.became_master_at("C") == [10.0 + 106 / 256]
    assert lan.became_master_at("B") == []


def test_ipv6_v3_election_through_the_codec() -> None:
    lan = Lan()
    vips = (IPv6Address("fe80::51"), IPv6Address("2001:db8::51"))
    for name, addr, prio in (("A", "fe80::a", 200), ("B", "fe80::b", 100)):
        lan.add(name, VrrpRouter(RouterConfig(vrid=51, priority=prio, address=IPv6Address(addr),
                                              virtual_addresses=vips, version=3)))
        lan.start(name, 0.0)
    lan.run_until(10.0)
    assert lan.became_master_at("A") == [MDI_200]
    assert lan.routers["B"].counters.adverts_received > 0


# -- graceful handover (ours): the leaving master keeps the VIPs until the new one speaks --
def vip_holders(lan: Lan) -> list[tuple[float, str, str]]:
    """Every AddAddresses/RemoveAddresses in time order: (time, router, "add"|"remove")."""
    return [(e.time, e.router, "add" if isinstance(e.action, AddAddresses) else "remove") for e in lan.log
            if isinstance(e.action, (AddAddresses, RemoveAddresses))]


def test_graceful_shutdown_keeps_the_vips_until_the_backup_advertises() -> None:
    lan = pair()
    lan.start("A", 0.0)
    lan.start("B", 0.0)
    lan.run_until(20.0)
    lan.shutdown("A")
    a = lan.routers["A"]
    assert lan.sent("A")[-1] == (20.0, 0) and a.handing_over and lan.state("A") is State.MASTER
    assert not lan.of("A", RemoveAddresses)  # still serving
    assert a.next_deadline() == 20.0 + MDI_200  # the bound: Master_Down_Interval
    lan.run_until(30.0)
    take = 20.0 + SKEW_100
    assert lan.became_master_at("B") == [take]
    # A removed its VIPs LINGER after B's first advert: never nobody, never an answer from A
    assert vip_holders(lan)[-2:] == [(take, "B", "add"), (take + LINGER, "A", "remove")]
    assert lan.sent("A")[-1] == (20.0, 0)  # silent while handing over: no answer to B's lower priority
    assert lan.changes("A")[-1] == (take + LINGER, "A", State.MASTER, State.INITIALIZE, "shutdown")
    assert lan.state("B") is State.MASTER  # B was not made to step down again
    assert a.counters.handovers == a.counters.handovers_answered == 1 and a.counters.handovers_timed_out == 0
    assert not lan.of("A", SendGratuitousArp)[-1].time > 20.0


def test_graceful_shutdown_gives_up_after_master_down_interval_without_a_backup() -> None:
    lan = pair()
    lan.start("A", 0.0)
    lan.run_until(20.0)  # B never runs
    lan.shutdown("A")
    lan.run_until(40.0)
    assert vip_holders(lan)[-1] == (20.0 + MDI_200, "A", "remove")
    assert lan.state("A") is State.INITIALIZE and lan.routers["A"].counters.handovers_timed_out == 1
    assert lan.sent("A")[-1] == (20.0, 0)


def test_resign_hands_over_and_stays_backup_until_unresign() -> None:
    lan = pair()
    lan.start("A", 0.0)
    lan.start("B", 0.0)
    lan.run_until(20.0)
    lan.resign("A")
    lan.run_until(60.0)
    take = 20.0 + SKEW_100
    assert vip_holders(lan)[-2:] == [(take, "B", "add"), (take + LINGER, "A", "remove")]
    assert lan.changes("A")[-1] == (take + LINGER, "A", State.MASTER, State.BACKUP, "resign")
    # A outranks B (200 > 100) and preempts, but a resigned router never takes over
    assert lan.state("A") is State.BACKUP and lan.state("B") is State.MASTER
    assert lan.routers["A"].master_address == B_ADDR
    lan.crash("B")
    lan.run_until(80.0)
    assert lan.state("A") is State.BACKUP  # not even when the master dies
    lan.unresign("A")
    lan.run_until(90.0)
    assert lan.became_master_at("A")[-1] == 80.0 + MDI_200


def test_unresign_lets_a_higher_priority_router_preempt_back() -> None:
    lan = pair()
    lan.start("A", 0.0)
    lan.start("B", 0.0)
    lan.run_until(20.0)
    lan.resign("A")
    lan.run_until(30.0)
    lan.unresign("A")
    lan.run_until(40.0)
    assert lan.state("A") is State.MASTER and lan.state("B") is State.BACKUP
    assert lan.became_master_at("A")[-1] == 30.0 + MDI_200  # discards B's adverts, Master_Down_Timer runs out


def test_resign_without_graceful_handover_drops_the_vips_with_the_advert() -> None:
    lan = pair({"graceful_handover": False})
    lan.start("A", 0.0)
    lan.start("B", 0.0)
    lan.run_until(20.0)
    lan.resign("A")
    assert vip_holders(lan)[-1] == (20.0, "A", "remove") and lan.state("A") is State.BACKUP
    lan.run_until(30.0)
    assert lan.became_master_at("B") == [20.0 + SKEW_100] and lan.state("A") is State.BACKUP


def test_handover_ends_on_a_master_that_outranks_us() -> None:
    lan = pair()
    lan.start("A", 0.0)
    lan.start("B", 0.0)
    lan.run_until(20.0)
    lan.shutdown("A")
    lan.run_until(20.1)
    lan.inject(router(C_ADDR, 250).config.advertisement(250), C_ADDR)  # a master that outranks everyone
    assert lan.state("A") is State.MASTER and vip_holders(lan)[-1][1:] == ("A", "add")  # lingering
    lan.run_until(20.1 + LINGER)
    assert vip_holders(lan)[-1] == (20.1 + LINGER, "A", "remove") and lan.state("A") is State.INITIALIZE
    assert lan.routers["A"].counters.handovers_answered == 1
    assert lan.routers["B"].master_address == C_ADDR  # B accepted it too, and stays backup
    lan.run_until(20.5)
    assert lan.state("B") is State.BACKUP


def test_shutdown_during_a_resign_handover_ends_in_initialize() -> None:
    lan = pair()
    lan.start("A", 0.0)
    lan.start("B", 0.0)
    lan.run_until(20.0)
    lan.resign("A")
    lan.run_until(20.1)
    lan.shutdown("A")
    lan.run_until(30.0)
    assert lan.changes("A")[-1] == (20.0 + SKEW_100 + LINGER, "A", State.MASTER, State.INITIALIZE, "shutdown")
    assert [p for _, p in lan.sent("A")].count(0) == 1  # one priority-0 advert, not two


def split_brain(a_kw: dict | None = None, b_kw: dict | None = None, heal: float = 20.0) -> Lan:
    """A (200) and B (100) both Master while unplugged, plugged again at ``heal``."""
    lan = pair(a_kw, b_kw)
    lan.unplug("A")
    lan.unplug("B")
    lan.start("A", 0.0)
    lan.start("B", 0.5)
    lan.run_until(heal)
    assert lan.state("A") is lan.state("B") is State.MASTER
    lan.plug("A")
    lan.plug("B")
    return lan


def reannounced(lan: Lan, name: str, after: float) -> list[tuple[float, GarpReason]]:
    return [(e.time, e.action.reason) for e in lan.of(name, SendGratuitousArp) if e.time >= after]


def test_split_brain_heal_winner_heard_first_reannounces() -> None:
    # A's adverts go at x.21875, B's at x.109375: A's first advert after 20.15 reaches B first;
    # B yields and says so with its own priority, A (master all along) re-announces
    lan = split_brain(heal=20.15)
    lan.run_until(30.0)
    assert lan.state("A") is State.MASTER and lan.state("B") is State.BACKUP
    yielded = lan.changes("B")[-1]
    assert yielded[1:] == ("B", State.MASTER, State.BACKUP, "higher_priority")
    garps = reannounced(lan, "A", 20.0)
    assert garps[0] == (yielded[0], GarpReason.LOWER_PRIORITY)  # at once (garp_lower_prio_repeat)
    assert (yielded[0] + 1.5, GarpReason.SPLIT_BRAIN_HEALED) in garps  # once B has stayed silent
    assert lan.routers["A"].counters.split_brains == 1
    assert lan.routers["B"].counters.split_brains == 0


def test_split_brain_heal_loser_heard_first_reannounces_after_it_yielded() -> None:
    lan = split_brain(heal=20.0)  # B's advert at 20.109375 comes before A's at 20.21875
    lan.run_until(30.0)
    assert lan.state("A") is State.MASTER and lan.state("B") is State.BACKUP
    yielded_at = lan.changes("B")[-1][0]
    assert yielded_at == 20.109375  # A answered B's advert at once
    # B's last advert, then silence: the re-announce comes 1.5 intervals after it
    assert (yielded_at + 1.5, GarpReason.SPLIT_BRAIN_HEALED) in reannounced(lan, "A", 20.5)
    assert lan.routers["A"].counters.split_brains == 1


def test_split_brain_heal_without_it_is_keepalived_no_garp() -> None:
    # keepalived 2.2.7's defaults: the winner heard first sends no GARP at all after the heal
    off = {"split_brain_garp": False}
    lan = split_brain(off, off, heal=20.15)
    lan.run_until(30.0)
    assert lan.state("A") is State.MASTER and lan.state("B") is State.BACKUP
    assert reannounced(lan, "A", 20.0) == []
    assert lan.routers["A"].counters.split_brains == 0


def test_a_master_that_stays_split_is_reannounced_against_each_advert() -> None:
    # B hears nothing (one-way loss): it stays master; A re-arms the re-announce on every advert
    lan = pair()
    lan.start("A", 0.0)
    lan.run_until(10.0)
    for t in (10.0, 11.0, 12.0):
        lan.run_until(t)
        lan.inject(Advertisement(2, 51, 100, 1, VIPS, auth_data=bytes(8)), B_ADDR)
    lan.run_until(20.0)
    healed = [t for t, reason in reannounced(lan, "A", 10.0) if reason is GarpReason.SPLIT_BRAIN_HEALED]
    assert healed == [13.5]
    assert lan.routers["A"].counters.split_brains == 1


def test_preemption_farewell_is_not_a_split_brain() -> None:
    lan = pair()
    lan.start("B", 0.0)
    lan.run_until(10.0)
    lan.start("A")
    lan.run_until(20.0)
    assert lan.state("A") is State.MASTER and lan.state("B") is State.BACKUP
    assert lan.sent("B")[-1][1] == 100  # B's advert before it yielded
    assert lan.routers["A"].counters.split_brains == 0
