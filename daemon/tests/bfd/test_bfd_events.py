"""BFD events between processes (bfd/events.py) over a real Unix socket, and BFD_CHECK
(check/bfd.py) moved by them through the real scheduler and HealthChecker."""
from __future__ import annotations

import asyncio
from pathlib import Path

from pykeepalived.bfd.events import BfdView, EventClient, EventServer
from pykeepalived.check.health import HealthChecker
from pykeepalived.config.loader import loads_config


async def until(cond, what: str, timeout: float = 10.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < end, what
        await asyncio.sleep(0.01)


def test_a_view_reports_changes_falls_and_waits() -> None:
    async def main() -> None:
        view, heard = BfdView(), []
        view.listen("b1", heard.append)
        view.set("b1", False, None)  # a new session: no event yet
        assert view.event("b1") is None and not view.up("b1") and heard == []
        waiting = asyncio.ensure_future(view.changed("b1", None))
        await asyncio.sleep(0)
        assert not waiting.done()
        view.set("b1", True, True)
        assert await waiting is True and heard == [True]
        assert await view.changed("b1", None) is True  # there is one already: at once
        view.replace({})  # a new table without it (a restarted BFD child): a fall
        assert heard == [True, False] and view.event("b1") is False
        view.replace({"b1": (False, None)})  # no news: what this view knew stays
        assert view.event("b1") is False and heard == [True, False]
    asyncio.run(main())


def test_server_and_client_table_then_events_then_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "bfd.events.sock"

    async def main() -> None:
        table = {"b1": (True, True), "b2": (False, None)}
        server = EventServer(path, lambda: table)
        await server.start()
        assert path.stat().st_mode & 0o777 == 0o600
        client = EventClient(path)
        client.apply({"b1": object()})
        await until(lambda: client.up("b1"), "no table")
        assert client.event("b2") is None and not client.up("b2")
        server.publish("b2", True)
        await until(lambda: client.up("b2"), "no event")
        assert client.event("b2") is True and client.received == 1 and client.delivery_ms is not None
        await server.stop()  # the BFD child goes away: what we knew stays
        await until(lambda: not client.connected, "no disconnect")
        assert client.up("b1") and client.up("b2")
        table = {"b1": (True, True)}  # the new child: b2 not up (yet)
        server = EventServer(path, lambda: table)
        await server.start()
        await until(lambda: client.connects == 2 and not client.up("b2"), "no reconnect")
        assert client.event("b2") is False  # seen up, now not: a fall for BFD_CHECK
        await client.stop()
        await server.stop()
    asyncio.run(main())


CONF = """bfd_instance b1 {{
    neighbor_ip 192.0.2.2
}}
virtual_server 192.0.2.10 80 {{
    protocol TCP
    real_server 192.0.2.20 80 {{
        BFD_CHECK {{
            name b1
{alpha}        }}
    }}
}}
"""


def run_check(alpha: str, events: list[bool]) -> list[tuple[bool, int]]:
    """The real server's (up, weight) after its first state and after each event."""
    config, diags = loads_config(CONF.format(alpha=alpha), "k.conf")
    assert not diags.errors, diags.items

    async def main() -> list[tuple[bool, int]]:
        seen: list[tuple[bool, int]] = []
        view = BfdView()
        health = HealthChecker(on_change=lambda vs, rs, up, weight: seen.append((up, weight)), bfd=view)
        health.load(config)
        await asyncio.sleep(0.05)  # nothing happens without an event
        assert len(seen) == 1, seen
        for up in events:
            before = len(seen)
            view.set("b1", up, up)
            await until(lambda want=up: next(iter(health.servers.values())).jobs[0].state.up == want,
                        "the checker did not follow the event")
            await asyncio.sleep(0.01)
            assert len(seen) in (before, before + 1)
        health.load(config)  # a reload with the same checker keeps it and its state
        job = next(iter(health.servers.values())).jobs[0]
        await health.stop()
        return [*seen, ("runs", job.runs)]
    return asyncio.run(main())


def test_bfd_check_follows_the_session() -> None:
    # up until the first event (keepalived: a checker starts up), then each event decides at once
    assert run_check("", [False, True, False]) == [(True, 1), (False, 1), (True, 1), (False, 1), ("runs", 3)]


def test_bfd_check_with_alpha_starts_down() -> None:
    assert run_check("            alpha\n", [True]) == [(False, 1), (True, 1), ("runs", 1)]
