"""One VrrpRouter at a time: drops, timers, GARP schedule, tracking, API contract."""
from __future__ import annotations

import json
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

import pytest

from pykeepalived.vrrp.events import (
    GarpReason,
    RemoveAddresses,
    SendAdvert,
    SendGratuitousArp,
    State,
    StateChanged,
    TransitionReason,
)
from pykeepalived.vrrp.fsm import VrrpRouter
from pykeepalived.vrrp.packet import Advertisement, AuthType, DropReason
from pykeepalived.vrrp.router_config import RouterConfig
from pykeepalived.vrrp.timers import master_down_interval, minimum_skew, skew_time

ME, PEER = IPv4Address("192.0.2.1"), IPv4Address("192.0.2.2")
VIPS = (IPv4Address("192.0.2.100"),)


def cfg(**kw) -> RouterConfig:
    base = {"vrid": 51, "priority": 100, "address": ME, "virtual_addresses": VIPS}
    return RouterConfig(**(base | kw))


def advert(priority: int = 150, **kw) -> Advertisement:
    base = {"version": 2, "vrid": 51, "priority": priority, "advert_interval": 1,
            "addresses": VIPS, "auth_data": bytes(8)}
    return Advertisement(**(base | kw))


def master(**kw) -> VrrpRouter:
    r = VrrpRouter(cfg(priority=255, **kw))
    r.start(0.0)
    r.actions()
    return r


def test_timer_formulas_per_version() -> None:
    # v2: skew is (256 - p) / 256 whatever the interval (RFC 3768 6.1)
    assert skew_time(2, 100, 5.0) == 156 / 256
    assert master_down_interval(2, 100, 5.0) == 15 + 156 / 256
    # v3: skew scales with Master_Adver_Interval (RFC 5798 6.1)
    assert skew_time(3, 100, 5.0) == 156 * 5 / 256
    assert master_down_interval(3, 100, 0.5) == 1.5 + 156 * 0.5 / 256
    assert minimum_skew(2, 1.0) == 1 / 256 and minimum_skew(3, 2.0) == 2 / 256


def test_start_enters_backup_with_master_down_timer() -> None:
    r = VrrpRouter(cfg())
    assert r.next_deadline() is None
    r.start(100.0)
    assert r.actions() == [StateChanged(State.INITIALIZE, State.BACKUP, TransitionReason.STARTUP)]
    assert r.next_deadline() == 100.0 + 3.609375
    r.handle_timer(103.0)  # early: nothing happens
    assert r.actions() == [] and r.state is State.BACKUP
    with pytest.raises(RuntimeError):
        r.start(101.0)


def test_state_master_config_shortens_the_first_timeout() -> None:
    r = VrrpRouter(cfg(initial_state=State.MASTER))
    r.start(0.0)
    assert r.next_deadline() == 1.0 + 1 / 256  # keepalived: adver_int + VRRP_TIMER_SKEW_MIN


def test_becoming_master_actions_in_order() -> None:
    r = VrrpRouter(cfg())
    r.start(0.0)
    r.actions()
    r.handle_timer(3.609375)
    acts = r.actions()
    assert [type(a).__name__ for a in acts] == [
        "AddAddresses", "SendAdvert", "SendGratuitousArp", "StateChanged"]
    assert acts[1] == SendAdvert(100, r.config.advertisement(100))
    assert acts[2] == SendGratuitousArp(VIPS, 5, GarpReason.BECAME_MASTER)
    assert r.next_deadline() == 4.609375
    assert r.counters.became_master == 1


def test_master_advertises_every_interval() -> None:
    r = master()
    for k in range(1, 4):
        r.handle_timer(float(k))
        assert [a.priority for a in r.actions() if isinstance(a, SendAdvert)] == [255]
    assert r.counters.adverts_sent == 4


def test_a_late_advert_timer_keeps_the_interval_and_a_pause_does_not_burst() -> None:
    r = master(garp_master_refresh=0)
    assert r.advert_at == 1.0
    r.handle_timer(1.04)  # run late (timer slack, a busy loop): the next is still due at 2.0
    assert r.advert_at == 2.0 and r.next_deadline() == 2.0
    r.handle_timer(5.5)  # a pause of several intervals: one advert, the next one interval on
    assert [a.priority for a in r.actions() if isinstance(a, SendAdvert)] == [255, 255]
    assert r.advert_at == 6.5


def test_the_same_advert_object_is_sent_until_the_priority_changes() -> None:
    r = VrrpRouter(cfg())
    r.start(0.0)
    r.handle_timer(4.0)  # master: its first advert
    r.handle_timer(5.0)
    first, second = [a.advert for a in r.actions() if isinstance(a, SendAdvert)]
    assert first is second
    r.set_effective_priority(90, 5.5)
    r.handle_timer(6.0)
    (third,) = [a.advert for a in r.actions() if isinstance(a, SendAdvert)]
    assert third.priority == 90 and third == r.config.advertisement(90)


def test_garp_delay_and_refresh_schedule() -> None:
    r = master(garp_master_refresh=60.0, garp_master_refresh_repeat=2)
    bursts = []
    t = 0.0
    while t < 130.0:
        t = r.next_deadline()
        r.handle_timer(t)
        bursts += [(t, a.reason, a.repeat) for a in r.actions() if isinstance(a, SendGratuitousArp)]
    assert bursts[:3] == [(5.0, GarpReason.MASTER_DELAY, 5), (60.0, GarpReason.REFRESH, 2),
                          (120.0, GarpReason.REFRESH, 2)]


def test_garp_master_delay_zero_means_one_burst() -> None:
    r = master(garp_master_delay=0.0)
    r.handle_timer(10.0)
    assert not any(isinstance(a, SendGratuitousArp) for a in r.actions())


def test_master_answers_priority_zero_and_resets_adver_timer() -> None:
    r = master()
    r.receive(advert(0), PEER, 0.5)
    assert [a.priority for a in r.actions() if isinstance(a, SendAdvert)] == [255]
    assert r.next_deadline() == 1.5
    assert r.state is State.MASTER


def test_master_steps_down_for_equal_priority_higher_address() -> None:
    r = VrrpRouter(cfg())
    r.start(0.0)
    r.handle_timer(3.609375)
    r.actions()
    r.receive(advert(100), IPv4Address("192.0.2.0"), 4.0)  # lower address: we stay
    assert r.state is State.MASTER
    r.receive(advert(100), PEER, 4.0)  # higher address: we step down
    acts = r.actions()
    assert any(isinstance(a, RemoveAddresses) for a in acts)
    assert acts[-1] == StateChanged(State.MASTER, State.BACKUP, TransitionReason.HIGHER_PRIORITY)
    assert r.next_deadline() == 4.0 + 3.609375
    assert r.counters.released_master == 1


def test_higher_prio_send_advert_option() -> None:
    r = VrrpRouter(cfg(higher_prio_send_advert=True))
    r.start(0.0)
    r.handle_timer(4.0)
    r.actions()
    r.receive(advert(200), PEER, 5.0)
    acts = r.actions()
    assert acts[0] == SendAdvert(100, r.config.advertisement(100))
    assert r.state is State.BACKUP


@pytest.mark.parametrize(("mutation", "reason"), [
    ({"version": 3, "advert_interval": 100, "auth_data": b""}, DropReason.VERSION),
    ({"vrid": 52}, DropReason.VRID),
    ({"auth_type": AuthType.SIMPLE}, DropReason.AUTH),
    ({"advert_interval": 2}, DropReason.INTERVAL),
    ({"addresses": ()}, DropReason.ADDRESS_COUNT),
    ({"addresses": (IPv4Address("192.0.2.99"),)}, DropReason.ADDRESS_LIST),
])
def test_instance_level_drops(mutation: dict, reason: DropReason) -> None:
    r = VrrpRouter(cfg())
    r.start(0.0)
    r.receive(replace(advert(), **mutation), PEER, 1.0)
    assert r.counters.drops[reason] == 1 and r.counters.dropped == 1
    assert r.counters.adverts_received == 0
    assert r.next_deadline() == 3.609375  # the timer was not touched


def test_own_advert_is_dropped() -> None:
    r = VrrpRouter(cfg())
    r.start(0.0)
    r.receive(advert(), ME, 1.0)
    assert r.counters.drops[DropReason.OWN] == 1


def elected(**kw) -> VrrpRouter:
    """A priority-200 router that became master when its Master_Down timer ran out."""
    r = VrrpRouter(cfg(priority=200, **kw))
    r.start(0.0)
    r.handle_timer(r.next_deadline())
    r.actions()
    assert r.state is State.MASTER
    return r


def test_multicast_mode_drops_an_advert_not_sent_to_the_group() -> None:
    # an off-link host's advert to our own address (TTL unchecked there) must not take the VIP
    r = elected()
    r.receive(advert(priority=254), PEER, 1.0, dst=ME)
    assert r.counters.drops[DropReason.DESTINATION] == 1 and r.state is State.MASTER
    r.receive(advert(priority=254), PEER, 1.0, dst=IPv4Address("224.0.0.18"))
    assert r.state is State.BACKUP  # the same advert to the group is a real higher-priority master


def test_multicast_mode_honours_a_configured_group() -> None:
    r = elected(multicast_group=IPv4Address("224.0.0.19"))
    r.receive(advert(priority=254), PEER, 1.0, dst=IPv4Address("224.0.0.18"))
    assert r.counters.drops[DropReason.DESTINATION] == 1 and r.state is State.MASTER
    assert r.config.destinations == (IPv4Address("224.0.0.19"),)


def test_unicast_mode_accepts_only_configured_peers() -> None:
    stranger = IPv4Address("192.0.2.66")
    r = elected(unicast_peers=(PEER,))
    r.receive(advert(priority=254), stranger, 1.0, dst=ME)
    assert r.counters.drops[DropReason.PEER] == 1 and r.state is State.MASTER
    r.receive(advert(priority=254), PEER, 1.0, dst=ME)
    assert r.state is State.BACKUP
    assert r.config.destinations == (PEER,)


def test_unicast_peer_ttl_bounds() -> None:
    """keepalived's min_ttl/max_ttl: a peer's advert outside its bounds is dropped as ``ttl``;
    a peer without bounds, or a caller that does not know the TTL, is not checked."""
    other = IPv4Address("192.0.2.3")
    r = elected(unicast_peers=(PEER, other), unicast_peer_ttls=((250, 255), (0, 255)))
    assert r.config.peer_ttl_range(PEER) == (250, 255) and r.config.peer_ttl_range(other) == (0, 255)
    r.receive(advert(priority=254), PEER, 1.0, dst=ME, ttl=249)  # one router too many
    r.receive(advert(priority=254), other, 1.0, dst=ME, ttl=64)  # no bounds for this one: it counts
    assert r.counters.drops[DropReason.TTL] == 1 and r.state is State.BACKUP
    r = elected(unicast_peers=(PEER,), unicast_peer_ttls=((0, 254),))
    r.receive(advert(priority=254), PEER, 1.0, dst=ME, ttl=255)
    assert r.counters.drops[DropReason.TTL] == 1 and r.state is State.MASTER
    r.receive(advert(priority=254), PEER, 1.0, dst=ME)  # TTL unknown: not checked
    assert r.state is State.BACKUP


@pytest.mark.parametrize("ttls", [((1, 255), (0, 255)), ((200, 100),), ((0, 256),)])
def test_unicast_peer_ttls_must_fit_the_peers(ttls) -> None:
    with pytest.raises(ValueError):
        cfg(unicast_peers=(PEER,), unicast_peer_ttls=ttls)


def test_simple_password_must_match() -> None:
    r = VrrpRouter(cfg(auth_type=AuthType.SIMPLE, auth_pass=b"s3cr3t"))
    r.start(0.0)
    good = advert(auth_type=AuthType.SIMPLE, auth_data=b"s3cr3t\0\0")
    r.receive(good, PEER, 1.0)
    r.receive(replace(good, auth_data=b"wrong\0\0\0"), PEER, 1.0)
    assert r.counters.adverts_received == 1 and r.counters.drops[DropReason.AUTH] == 1
    assert r.config.advertisement(100).auth_data == b"s3cr3t\0\0"


def test_skip_check_adv_addr() -> None:
    r = VrrpRouter(cfg(check_addresses=False))
    r.start(0.0)
    r.receive(advert(addresses=(IPv4Address("192.0.2.99"),)), PEER, 1.0)
    assert r.counters.adverts_received == 1


def test_effective_priority_shifts_the_running_down_timer() -> None:
    r = VrrpRouter(cfg())
    r.start(0.0)
    assert r.next_deadline() == 3.609375
    r.set_effective_priority(200, 1.0)
    assert r.priority == 200 and r.next_deadline() == 3.21875
    r.set_effective_priority(0, 1.0)
    assert r.priority == 1
    r.set_effective_priority(999, 1.0)
    assert r.priority == 254  # only the configured owner may be 255
    owner = master()
    owner.set_effective_priority(10, 1.0)
    assert owner.priority == 255


def test_master_advertises_the_new_priority() -> None:
    r = VrrpRouter(cfg())
    r.start(0.0)
    r.handle_timer(4.0)
    r.actions()
    r.set_effective_priority(90, 4.5)
    r.handle_timer(5.0)
    assert [a.priority for a in r.actions() if isinstance(a, SendAdvert)] == [90]


def test_fault_before_start_and_shutdown_from_backup() -> None:
    r = VrrpRouter(cfg())
    r.set_fault(True, 0.0)
    r.start(0.0)
    assert r.state is State.FAULT and r.next_deadline() is None
    r.set_fault(False, 1.0)
    assert r.state is State.BACKUP
    r.actions()
    r.shutdown(2.0)
    assert r.actions() == [StateChanged(State.BACKUP, State.INITIALIZE, TransitionReason.SHUTDOWN)]
    assert r.next_deadline() is None
    r.start(3.0)  # a stopped router may start again
    assert r.state is State.BACKUP


def test_adverts_ignored_before_start() -> None:
    r = VrrpRouter(cfg())
    r.receive(advert(), PEER, 0.0)
    assert r.counters.adverts_received == 0 and r.actions() == []


def test_counters_are_json_ready() -> None:
    r = master()
    r.counters.drop(DropReason.CHECKSUM)  # how the instance counts decode errors
    doc = json.loads(json.dumps(r.counters.as_dict()))
    assert doc["drops"]["checksum"] == 1 and doc["became_master"] == 1
    assert set(doc["drops"]) >= {"ttl", "auth", "vrid", "interval", "checksum", "length", "version"}


@pytest.mark.parametrize("bad", [
    {"vrid": 0}, {"priority": 0}, {"priority": 256}, {"version": 4},
    {"advert_interval": 1.5}, {"advert_interval": 0}, {"version": 3, "advert_interval": 41.0},
    {"auth_type": AuthType.AH}, {"auth_pass": b"123456789"},
    {"version": 3, "auth_type": AuthType.SIMPLE}, {"preempt_delay": 1001},
    {"initial_state": State.FAULT}, {"virtual_addresses": (IPv6Address("2001:db8::1"),)},
    {"address": IPv6Address("fe80::1"), "virtual_addresses": ()},  # v2 over IPv6
])
def test_config_validation(bad: dict) -> None:
    with pytest.raises(ValueError):
        cfg(**bad)


def test_v3_config_interval_and_wire_units() -> None:
    c = cfg(version=3, advert_interval=1.5)
    assert c.wire_interval == 150 and c.interval == 1.5
    assert c.advertisement(100).advert_interval == 150 and c.advertisement(100).auth_data == b""


def test_two_address_owners_the_lower_address_yields() -> None:
    r = master()  # 192.0.2.1 at 255
    r.receive(advert(255), PEER, 0.5)  # another owner, higher address
    assert r.state is State.BACKUP and r.priority == 254  # keepalived: config error, reduce
    r.set_effective_priority(200, 1.0)  # no longer an owner: tracking applies
    assert r.priority == 200


# -- graceful handover and resign (ours; two routers in test_vrrp_fsm_lan.py) --------------
def handing_over(**kw) -> VrrpRouter:
    r = VrrpRouter(cfg(**kw))
    r.start(0.0)
    r.handle_timer(3.609375)
    r.actions()
    r.shutdown(10.0)
    return r


def test_shutdown_of_a_master_sends_priority_zero_and_keeps_the_addresses() -> None:
    r = handing_over()
    acts = r.actions()
    assert [type(a) for a in acts] == [SendAdvert] and acts[0].priority == 0
    assert r.handing_over and r.state is State.MASTER and r.next_deadline() == 10.0 + 3.609375
    r.handle_timer(11.0)  # no Adver_Timer, no GARP while handing over
    assert r.actions() == []


def test_priority_zero_from_another_router_does_not_end_a_handover() -> None:
    r = handing_over()
    r.actions()
    r.receive(advert(0), PEER, 10.1)
    assert r.actions() == [] and r.handing_over  # another leaving master is no new master
    r.receive(advert(50), PEER, 10.7)  # a lower priority: answered by a master, not by us
    assert r.actions() == [] and r.counters.handovers_answered == 1  # a new master: we linger ...
    assert r.next_deadline() == 10.7 + r.config.handover_linger  # ... for requests already on their way
    r.receive(advert(50), PEER, 10.72)  # its next adverts change nothing
    r.handle_timer(10.7 + r.config.handover_linger)
    assert r.actions() == [RemoveAddresses(VIPS),
                           StateChanged(State.MASTER, State.INITIALIZE, TransitionReason.SHUTDOWN)]
    assert r.next_deadline() is None and r.counters.handovers_answered == 1
    assert r.counters.handovers_timed_out == 0


def test_a_handover_without_linger_lets_go_on_the_new_masters_advert() -> None:
    r = handing_over(handover_linger=0.0)
    r.actions()
    r.receive(advert(50), PEER, 10.7)
    assert r.actions() == [RemoveAddresses(VIPS),
                           StateChanged(State.MASTER, State.INITIALIZE, TransitionReason.SHUTDOWN)]


def test_fault_during_a_handover_removes_the_addresses_without_a_second_priority_zero() -> None:
    r = handing_over()
    r.actions()
    r.set_fault(True, 10.2)
    assert r.actions() == [RemoveAddresses(VIPS), StateChanged(State.MASTER, State.FAULT, TransitionReason.FAULT)]
    assert not r.handing_over and r.counters.priority_zero_sent == 1


def test_sync_group_force_backup_leaves_a_handover_alone() -> None:
    r = handing_over()
    r.actions()
    r.force_backup(10.2)
    assert r.actions() == [] and r.handing_over


def test_a_resigned_backup_never_takes_over() -> None:
    r = VrrpRouter(cfg())
    r.start(0.0)
    r.resign(1.0)
    assert r.next_deadline() is None
    r.receive(advert(0), PEER, 2.0)  # even a master's priority 0
    r.handle_timer(10.0)
    assert r.state is State.BACKUP and r.next_deadline() is None
    r.unresign(20.0)
    assert r.next_deadline() == 20.0 + 3.609375


def test_a_resigned_owner_comes_back_from_fault_as_backup() -> None:
    r = master()
    r.resign(1.0)
    r.set_fault(True, 1.1)
    r.set_fault(False, 1.2)
    assert r.state is State.BACKUP


def test_resign_without_graceful_handover_is_immediate() -> None:
    r = VrrpRouter(cfg(graceful_handover=False, priority=255))
    r.start(0.0)
    r.actions()
    r.resign(1.0)
    acts = r.actions()
    assert acts[0] == SendAdvert(0, r.config.advertisement(0)) and acts[1] == RemoveAddresses(VIPS)
    assert acts[2] == StateChanged(State.MASTER, State.BACKUP, TransitionReason.RESIGN)


def test_a_fault_while_lingering_leaves_no_new_master_for_the_next_handover() -> None:
    r = handing_over()
    r.actions()
    r.receive(advert(50), PEER, 10.7)  # the new master: we linger
    r.set_fault(True, 10.71)  # a fault ends the handover at once
    assert not r.handing_over and r.state is State.FAULT
    r.set_fault(False, 11.0)
    r.handle_timer(11.0 + r.master_down_interval)  # nobody else: master again
    assert r.state is State.MASTER
    r.shutdown(20.0)
    r.handle_timer(20.0 + r.master_down_interval)  # this handover is not answered: it times out
    assert r.counters.handovers_timed_out == 1 and r.state is State.INITIALIZE


def test_an_accepted_advert_is_checked_again_when_its_source_destination_or_ttl_differ() -> None:
    # the router skips check_advert for the advert, source, destination and TTL it last accepted
    # (the transport hands over the same decoded objects); anything else is checked in full
    r = VrrpRouter(cfg(unicast_peers=(PEER,), unicast_peer_ttls=((250, 255),)))
    r.start(0.0)
    a = advert()
    for t in (1.0, 2.0):
        r.receive(a, PEER, t, ME, 255)
    assert r.counters.adverts_received == 2
    r.receive(a, PEER, 3.0, ME, 64)  # same advert and peer, a TTL out of its range
    r.receive(a, IPv4Address("192.0.2.9"), 3.1, ME, 255)  # not a peer
    r.receive(a, ME, 3.2, ME, 255)  # our own address
    assert r.counters.adverts_received == 2
    assert {k: v for k, v in r.counters.drops.items() if v} == {DropReason.TTL: 1, DropReason.PEER: 1,
                                                                 DropReason.OWN: 1}
    assert r.next_deadline() == 2.0 + r.master_down_interval  # the dropped ones did not move the timer
    r.receive(a, PEER, 4.0, ME, 255)
    assert r.counters.adverts_received == 3 and r.next_deadline() == 4.0 + r.master_down_interval
