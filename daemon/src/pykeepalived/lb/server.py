"""One real server at runtime: which configured entries a request names, and their view.

``find`` turns (address, port?, virtual_server?) into the concrete entries of the
running config, or a ControlError that lists what the daemon knows. ``view``
reads one server's state for each virtual server: health, configured weight,
runtime (operator) weight, drained, effective weight, and connection counts read
for that server only (``Backend.dests_of``), never the whole table.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ..config.model import Config
from ..config.model_lvs import RealServer
from .desired import Desired, Overrides, runtime_state
from .overrides import Concrete
from .services import rs_key
from .table import norm_addr


class ControlError(Exception):
    """A request the plane cannot satisfy (unknown real server, bad weight)."""


@dataclass(frozen=True)
class Entry:
    vs: str
    rs: RealServer

    @property
    def key(self) -> Concrete:
        return (self.vs, rs_key(self.rs)[0], self.rs.port)


def live(config: Config) -> list[Concrete]:
    return [Entry(v.key, r).key for v in config.virtual_servers for r in v.real_servers]


def _known(config: Config) -> str:
    names = sorted({f"{a}:{p}" if p is not None else a for _v, a, p in live(config)})
    return ", ".join(names) or "none"


def find(config: Config, addr: str, port: int | None, vs: str | None) -> list[Entry]:
    try:
        address = norm_addr(addr)
    except ValueError as err:
        raise ControlError(f"bad address {addr!r}") from err
    keys = [v.key for v in config.virtual_servers]
    if vs is not None and vs not in keys:
        raise ControlError(f"no virtual server {vs!r}; virtual servers: {', '.join(keys) or 'none'}")
    found = [Entry(v.key, r) for v in config.virtual_servers for r in v.real_servers
             if (vs is None or vs == v.key) and rs_key(r)[0] == address and (port is None or r.port == port)]
    if not found:
        where = f" in virtual server {vs!r}" if vs else ""
        raise ControlError(f"no real server {addr}{'' if port is None else f' port {port}'}{where}; "
                           f"real servers: {_known(config)}")
    return found


def view(entries: list[Entry], desired: Desired, ov: Overrides, backend,
         here: Collection[str] | None = None) -> list[dict]:
    """The runtime view of each entry (one per virtual server it belongs to).

    ``here``: the addresses this host holds (None: not known).  An established connection
    to a virtual address held elsewhere cannot pass through this host: its kernel entry is
    left from an earlier mastership (conntrack keeps an ESTABLISHED one 5 days, IPVS 15
    minutes, when its last packets went to the new master) or mirrored by the sync daemon.
    It is counted apart (``active_elsewhere``), so a drain waits for real connections only.
    """
    out = []
    views = desired.servers_by_vs()
    for e in entries:
        addr, port = rs_key(e.rs)
        rsv = next((s for s in views.get(e.vs, ()) if s.rs == (addr, port)), None)
        drained, weight = runtime_state(e.vs, e.rs, ov)
        keys = desired.services.get(e.vs, [])
        active = inactive = elsewhere = 0
        in_kernel = False
        for key, dests in backend.dests_of(keys, addr).items():
            held = here is None or bool(key.fwmark) or key.addr in here  # a fwmark names no address
            for d in dests:
                if d.port == (port if port is not None else key.port):
                    in_kernel = True
                    inactive += d.inactive
                    if held:
                        active += d.active
                    else:
                        elsewhere += d.active
        out.append({"virtual_server": e.vs, "address": addr, "port": port,
                    "up": rsv.up if rsv else None, "weight": e.rs.weight, "runtime_weight": weight,
                    "drained": drained, "effective_weight": rsv.weight if rsv else None,
                    "in_kernel": in_kernel, "active": active, "inactive": inactive,
                    "active_elsewhere": elsewhere})
    return out
