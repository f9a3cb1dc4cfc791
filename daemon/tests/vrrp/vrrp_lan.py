"""A tiny simulated LAN with a virtual clock for driving VrrpRouters against each other.

Adverts go through the real codec: ``encode`` on the sender, ``decode`` on
every other connected router (TTL 255, multicast group), so the state
machine tests also exercise the wire format.  Delivery takes no time.
Nothing sleeps: ``run_until`` jumps from deadline to deadline.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address

from pykeepalived.vrrp.events import Action, SendAdvert, State, StateChanged
from pykeepalived.vrrp.fsm import VrrpRouter
from pykeepalived.vrrp.packet import MCAST_IPV4, MCAST_IPV6, Advertisement, decode, encode


@dataclass
class Logged:
    time: float
    router: str
    action: Action


@dataclass
class Lan:
    routers: dict[str, VrrpRouter] = field(default_factory=dict)
    now: float = 0.0
    log: list[Logged] = field(default_factory=list)
    connected: set[str] = field(default_factory=set)  # plugged into the wire
    running: set[str] = field(default_factory=set)  # process alive (timers fire)

    def add(self, name: str, router: VrrpRouter) -> VrrpRouter:
        self.routers[name] = router
        self.connected.add(name)
        return router

    # -- driving ------------------------------------------------------------
    def start(self, name: str, at: float | None = None) -> None:
        self.run_until(self.now if at is None else at)
        self.running.add(name)
        self.routers[name].start(self.now)
        self.flush()

    def crash(self, name: str) -> None:
        """The process dies silently: no priority 0, timers stop."""
        self.running.discard(name)
        self.routers[name].actions()

    def shutdown(self, name: str) -> None:
        """A planned stop; a master handing over keeps running (and listening) until it is done."""
        self.routers[name].shutdown(self.now)
        self.flush()
        if not self.routers[name].handing_over:
            self.running.discard(name)

    def resign(self, name: str) -> None:
        self.routers[name].resign(self.now)
        self.flush()

    def unresign(self, name: str) -> None:
        self.routers[name].unresign(self.now)
        self.flush()

    def unplug(self, name: str) -> None:
        self.connected.discard(name)

    def plug(self, name: str) -> None:
        self.connected.add(name)

    def inject(self, advert: Advertisement, src: IPv4Address) -> None:
        """An advert from a router that is not simulated (e.g. a rogue lower priority)."""
        self._deliver(None, advert, src)
        self.flush()

    def run_until(self, t: float) -> None:
        while True:
            due = [(d, n) for n in sorted(self.running)
                   if (d := self.routers[n].next_deadline()) is not None and d <= t]
            if not due:
                break
            deadline, name = min(due)
            self.now = max(self.now, deadline)
            self.routers[name].handle_timer(self.now)
            self.flush()
        self.now = t

    def flush(self) -> None:
        progress = True
        while progress:
            progress = False
            for name in sorted(self.routers):
                for action in self.routers[name].actions():
                    progress = True
                    self.log.append(Logged(self.now, name, action))
                    if isinstance(action, SendAdvert) and name in self.connected:
                        self._deliver(name, action.advert, self.routers[name].config.address)

    def _deliver(self, sender: str | None, advert: Advertisement, src) -> None:
        dst = MCAST_IPV4 if isinstance(src, IPv4Address) else MCAST_IPV6
        payload = encode(advert, src, dst)
        for name in sorted(self.running & self.connected):
            if name != sender:
                self.routers[name].receive(decode(payload, src, dst, 255), src, self.now)

    # -- inspection ---------------------------------------------------------
    def state(self, name: str) -> State:
        return self.routers[name].state

    def changes(self, name: str | None = None) -> list[tuple[float, str, State, State, str]]:
        return [(e.time, e.router, e.action.old, e.action.new, e.action.reason.value)
                for e in self.log if isinstance(e.action, StateChanged)
                and (name is None or e.router == name)]

    def became_master_at(self, name: str) -> list[float]:
        return [t for t, _, _, new, _ in self.changes(name) if new is State.MASTER]

    def sent(self, name: str) -> list[tuple[float, int]]:
        return [(e.time, e.action.priority) for e in self.log
                if e.router == name and isinstance(e.action, SendAdvert)]

    def of(self, name: str, kind: type) -> list[Logged]:
        return [e for e in self.log if e.router == name and isinstance(e.action, kind)]
