"""Checkers -> LB plane in the daemon (lb/loop.py): drain/weight semantics and persistence."""
from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from pykeepalived.lb.loop import OVERRIDES, ControlError, LbLoop
from pykeepalived.lb.memory import MemoryBackend

from .helpers import conf, vs_conf

TWO = vs_conf("192.0.2.21", "192.0.2.22")


def rs(loop: LbLoop, addr: str) -> dict:
    for v in loop.status()["virtual_servers"]:
        for r in v["real_servers"]:
            if r["address"] == addr:
                return r
    raise KeyError(addr)


def weights(backend: MemoryBackend) -> dict[str, int]:
    return {d.addr: d.weight for s in backend.table.values() for d in s.dests.values()}


def set_active(backend: MemoryBackend, addr: str, n: int) -> None:
    for svc in backend.table.values():
        for key, d in list(svc.dests.items()):
            if d.addr == addr:
                svc.dests[key] = dataclasses.replace(d, active=n)


def test_drain_is_idempotent_persisted_and_pruned(tmp_path) -> None:
    async def main():
        backend = MemoryBackend()
        loop = LbLoop(conf(TWO), tmp_path, backend)
        await loop.start()
        assert weights(backend) == {"192.0.2.21": 2, "192.0.2.22": 2}
        assert loop.drain("192.0.2.21", 80) == (True, "drained")
        assert weights(backend)["192.0.2.21"] == 0 and rs(loop, "192.0.2.21")["drained"]
        n_ops = len(backend.log)
        assert loop.drain("192.0.2.21", 80) == (False, "already drained")
        assert len(backend.log) == n_ops  # nothing touched the table
        assert json.loads((tmp_path / OVERRIDES).read_text())["drained"] == [["TCP 192.0.2.80:80", "192.0.2.21", 80]]
        await loop.stop()

        # a restart keeps the drain (the kernel table was flushed by stop)
        backend2 = MemoryBackend()
        loop2 = LbLoop(conf(TWO), tmp_path, backend2)
        await loop2.start()
        assert weights(backend2) == {"192.0.2.21": 0, "192.0.2.22": 2}
        assert loop2.drain("192.0.2.21", 80, drained=False) == (True, "undrained")
        assert loop2.drain("192.0.2.21", 80, drained=False) == (False, "already undrained")
        assert loop2.drain("192.0.2.22") == (True, "drained")
        # "until the config says otherwise": the server leaves the config, its drain goes
        result = await loop2.reload(conf(vs_conf("192.0.2.21")))
        assert result == {"real_servers_added": 0, "real_servers_removed": 1}
        assert json.loads((tmp_path / OVERRIDES).read_text())["drained"] == []
        await loop2.stop()
    asyncio.run(main())


def test_set_weight_unknown_server_and_wait_drain(tmp_path) -> None:
    async def main():
        backend = MemoryBackend()
        loop = LbLoop(conf(TWO), tmp_path, backend)
        await loop.start()
        assert loop.set_weight("192.0.2.22", 7) == (True, "weight 7")
        assert loop.set_weight("192.0.2.22", 7) == (False, "weight unchanged")
        assert weights(backend)["192.0.2.22"] == 7 and rs(loop, "192.0.2.22")["effective_weight"] == 7
        assert loop.set_weight("192.0.2.22", None) == (True, "weight cleared")
        assert weights(backend)["192.0.2.22"] == 2
        with pytest.raises(ControlError, match="no real server"):
            loop.drain("192.0.2.99")
        with pytest.raises(ControlError, match="bad address"):
            loop.drain("nonsense")
        with pytest.raises(ControlError):
            loop.set_weight("192.0.2.21", -1)
        # connections: the memory backend carries counters like the kernel's dump
        loop.drain("192.0.2.21", 80)
        set_active(backend, "192.0.2.21", 3)
        assert await loop.wait_drain("192.0.2.21", 80, timeout=0.2, interval=0.05) == (False, 3)

        async def close_later():
            await asyncio.sleep(0.1)
            set_active(backend, "192.0.2.21", 0)
        task = asyncio.create_task(close_later())
        assert await loop.wait_drain("192.0.2.21", 80, timeout=5, interval=0.02) == (True, 0)
        await task
        await loop.stop()
    asyncio.run(main())


def test_checker_results_reach_the_plane(tmp_path) -> None:
    """A TCP_CHECK against a closed port takes the real server out (one reconcile per burst)."""
    text = """
virtual_server 192.0.2.80 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 1 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
"""

    async def main():
        backend = MemoryBackend()
        loop = LbLoop(conf(text.replace("delay_loop 1", "delay_loop 1\n    alpha")), tmp_path, backend)
        await loop.start()
        assert weights(backend) == {}  # alpha: down until a check passes
        loop.health.load(conf(text))  # same checker, no alpha any more: kept as is
        await loop.stop()
        backend = MemoryBackend()
        loop = LbLoop(conf(text), tmp_path, backend)
        await loop.start()
        assert weights(backend) == {"127.0.0.1": 3}
        for _ in range(60):  # warmup <= delay_loop 1 s, then the refused connect
            await asyncio.sleep(0.05)
            if not weights(backend):
                break
        assert weights(backend) == {} and loop.summary() == (0, 1)
        await loop.stop()
    asyncio.run(main())
