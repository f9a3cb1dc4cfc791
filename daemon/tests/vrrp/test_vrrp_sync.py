"""vrrp_sync_group on the simulated LAN (virtual clock): two hosts, two VRIDs each."""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address

from vrrp_lan import Lan

from pykeepalived.vrrp.events import RemoveAddresses, SendAdvert, State, StateChanged, TransitionReason
from pykeepalived.vrrp.fsm import VrrpRouter
from pykeepalived.vrrp.packet import Advertisement
from pykeepalived.vrrp.router_config import RouterConfig
from pykeepalived.vrrp.sync import SyncGroup, group_state
from pykeepalived.vrrp.timers import master_down_interval, skew_time

A, B, ROGUE = IPv4Address("192.0.2.1"), IPv4Address("192.0.2.2"), IPv4Address("192.0.2.9")
VIP = {51: (IPv4Address("192.0.2.151"),), 52: (IPv4Address("192.0.2.152"),)}


@dataclass
class SyncLan(Lan):
    """A Lan whose hosts run sync groups: the groups reconcile after every event."""

    groups: list[SyncGroup] = field(default_factory=list)

    def flush(self) -> None:
        while True:
            for g in self.groups:
                g.reconcile(self.now)
            if not any(r._queue for r in self.routers.values()):
                return
            super().flush()


def router(vrid: int, priority: int, address: IPv4Address) -> VrrpRouter:
    return VrrpRouter(RouterConfig(vrid=vrid, priority=priority, address=address, virtual_addresses=VIP[vrid],
                                   version=3, advert_interval=1.0))


def two_hosts() -> SyncLan:
    lan = SyncLan()
    for host, prio, addr in (("a", 150, A), ("b", 100, B)):
        members = [lan.add(f"{host}{vrid}", router(vrid, prio, addr)) for vrid in (51, 52)]
        lan.groups.append(SyncGroup(f"G_{host}", members))
    for name in ("a51", "a52", "b51", "b52"):
        lan.start(name)
    lan.run_until(5.0)
    return lan


def states(lan: Lan) -> dict[str, State]:
    return {n: lan.state(n) for n in sorted(lan.routers)}


def test_group_elects_together_and_reports_its_state() -> None:
    lan = two_hosts()
    assert states(lan) == {"a51": State.MASTER, "a52": State.MASTER, "b51": State.BACKUP, "b52": State.BACKUP}
    assert lan.became_master_at("a51") == lan.became_master_at("a52") == [master_down_interval(3, 150, 1.0)]
    assert [g.state for g in lan.groups] == [State.MASTER, State.BACKUP]


def test_fault_of_one_member_faults_the_group_and_the_peer_group_takes_over() -> None:
    lan = two_hosts()
    lan.routers["a51"].set_fault(True, lan.now, "track")
    lan.flush()
    t0 = lan.now
    assert lan.state("a51") is lan.state("a52") is State.FAULT  # a52 held by the group
    assert lan.sent("a52")[-1] == (t0, 0)  # priority 0 from both masters
    lan.run_until(t0 + 1.0)
    # both B members heard priority 0: each waits Skew_Time, then the group moves at once
    assert lan.became_master_at("b51") == lan.became_master_at("b52") == [t0 + skew_time(3, 100, 1.0)]
    assert [g.state for g in lan.groups] == [State.FAULT, State.MASTER]
    # fault cleared: A comes back as Backup, outranks B, and preempts with both members
    lan.routers["a51"].set_fault(False, lan.now, "track")
    lan.flush()
    assert lan.state("a51") is lan.state("a52") is State.BACKUP
    lan.run_until(lan.now + 5.0)
    assert states(lan) == {"a51": State.MASTER, "a52": State.MASTER, "b51": State.BACKUP, "b52": State.BACKUP}


def test_group_waits_until_every_member_can_be_master() -> None:
    lan = two_hosts()
    lan.unplug("a51")  # only VRID 51's adverts stop reaching B
    lan.run_until(lan.now + 10.0)
    assert lan.state("b51") is State.BACKUP and lan.routers["b51"].wants_master
    assert lan.state("b52") is State.BACKUP and not lan.routers["b52"].wants_master
    # VRID 52's master goes too: now every B member can, and they move together
    lan.crash("a52")
    t0 = lan.now
    lan.run_until(t0 + 10.0)
    assert lan.became_master_at("b51") == lan.became_master_at("b52")
    assert lan.state("b51") is State.MASTER


def test_a_member_stepping_down_takes_the_others_along_with_priority_zero() -> None:
    lan = two_hosts()
    rogue = Advertisement(version=3, vrid=51, priority=200, advert_interval=100, addresses=VIP[51])
    lan.inject(rogue, ROGUE)
    a52 = [e.action for e in lan.of("a52", StateChanged)][-1]
    assert a52 == StateChanged(State.MASTER, State.BACKUP, TransitionReason.SYNC_GROUP)
    assert isinstance(lan.of("a52", SendAdvert)[-1].action, SendAdvert) and lan.sent("a52")[-1][1] == 0
    assert lan.groups[0].state is State.BACKUP


def test_lone_member_and_group_state_rule() -> None:
    r = router(51, 100, A)
    SyncGroup("solo", [r])
    assert not r.sync_hold
    assert group_state([State.MASTER, State.FAULT]) is State.FAULT
    assert group_state([State.MASTER, State.BACKUP]) is State.BACKUP
    assert group_state([State.INITIALIZE, State.INITIALIZE]) is State.INITIALIZE


def test_group_hands_over_as_a_whole_on_resign_and_stays_backup() -> None:
    """The manager resigns every member of a group (vrrp/manager.py); each keeps its VIP until
    its own peer member speaks, and the group stays BACKUP until unresign."""
    lan = two_hosts()
    for name in ("a51", "a52"):
        lan.routers[name].resign(lan.now)
    lan.flush()
    assert all(lan.routers[n].handing_over for n in ("a51", "a52"))
    lan.run_until(20.0)
    take = 5.0 + skew_time(3, 100, 1.0)
    assert lan.became_master_at("b51") == lan.became_master_at("b52") == [take]
    linger = lan.routers["a51"].config.handover_linger  # kept past the new master's advert
    assert [e.time for n in ("a51", "a52") for e in lan.of(n, RemoveAddresses)] == [take + linger] * 2
    assert states(lan) == {"a51": State.BACKUP, "a52": State.BACKUP, "b51": State.MASTER, "b52": State.MASTER}
    assert [g.state for g in lan.groups] == [State.BACKUP, State.MASTER]
    for name in ("a51", "a52"):
        lan.routers[name].unresign(lan.now)
    lan.flush()
    lan.run_until(30.0)  # a outranks b: the group preempts back together
    assert states(lan) == {"a51": State.MASTER, "a52": State.MASTER, "b51": State.BACKUP, "b52": State.BACKUP}
