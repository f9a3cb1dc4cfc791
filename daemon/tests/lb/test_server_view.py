"""A real server's runtime view counts the connections that pass through this host.

An ESTABLISHED entry to a virtual address the host does not hold is left from an earlier
mastership (its last packets went to the new master) or mirrored by the sync daemon: a
drain on the backup must not wait for it (Molecule's rolling deploy waited 120 s on one)."""
from __future__ import annotations

import dataclasses

from pykeepalived.lb.desired import Overrides, compute
from pykeepalived.lb.memory import MemoryBackend
from pykeepalived.lb.plane import LoadBalancer
from pykeepalived.lb.server import find, view

from .helpers import conf

TEXT = "".join(f"""virtual_server {head} {{
    protocol TCP
    real_server 10.1.0.1 80 {{
    }}
}}
""" for head in ("192.0.2.1 80", "198.51.100.1 80", "fwmark 7"))


def views(tmp_path, here):
    config = conf(TEXT)
    backend = MemoryBackend()
    LoadBalancer(config, backend, tmp_path).start()
    for svc in backend.table.values():  # two established connections on each service
        for key, d in list(svc.dests.items()):
            svc.dests[key] = dataclasses.replace(d, active=2, inactive=1)
    desired = compute(config, {}, Overrides(), {})
    return {v["virtual_server"]: v for v in view(find(config, "10.1.0.1", 80, None), desired, Overrides(),
                                                 backend, here)}


def test_connections_to_an_address_held_elsewhere_are_counted_apart(tmp_path) -> None:
    got = views(tmp_path, {"192.0.2.1", "127.0.0.1"})
    assert (got["TCP 192.0.2.1:80"]["active"], got["TCP 192.0.2.1:80"]["active_elsewhere"]) == (2, 0)
    assert (got["TCP 198.51.100.1:80"]["active"], got["TCP 198.51.100.1:80"]["active_elsewhere"]) == (0, 2)
    assert got["TCP 198.51.100.1:80"]["inactive"] == 1 and got["TCP 198.51.100.1:80"]["in_kernel"]
    assert (got["TCP fwmark 7"]["active"], got["TCP fwmark 7"]["active_elsewhere"]) == (2, 0)  # a mark names no address


def test_addresses_not_known_count_every_connection(tmp_path) -> None:
    got = views(tmp_path, None)
    assert all((v["active"], v["active_elsewhere"]) == (2, 0) for v in got.values())
