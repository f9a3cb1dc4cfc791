"""global_defs ``lvs_sync_daemon``: the kernel's IPVS connection sync daemon (net/ipvs_syncd.py)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Union

from .errors import UNKNOWN_LOCATION, Location

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


@dataclass
class LvsSyncDaemon:
    """global_defs ``lvs_sync_daemon IFACE INSTANCE [id N] [maxlen N] [port N] [ttl N] [group IP]``:
    the kernel's IPVS connection sync daemon, master while INSTANCE is MASTER, else backup
    (net/ipvs_syncd.py; keepalived's ipvs_syncd_master/backup)."""

    interface: str
    instance: str
    sync_id: int | None = None  # None: the instance's virtual_router_id
    maxlen: int | None = None  # None: the kernel's defaults for the rest
    port: int | None = None
    ttl: int | None = None
    group: IPAddress | None = None
    loc: Location = field(default=UNKNOWN_LOCATION)

    def words(self) -> list[str]:
        """The keyword's arguments, as written back by pykeepalivedctl format."""
        out = [self.interface, self.instance]
        for name, value in (("id", self.sync_id), ("maxlen", self.maxlen), ("port", self.port),
                            ("ttl", self.ttl), ("group", self.group)):
            if value is not None:
                out += [name, str(value)]
        return out

