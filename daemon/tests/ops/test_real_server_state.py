"""One real server's runtime state (lb/overrides.py, lb/server.py, lb/command.py): one home
for drains and operator weights, restated per server, and a view read for that server only."""
from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from pykeepalived.lb.command import real_server_command
from pykeepalived.lb.desired import Overrides
from pykeepalived.lb.loop import OVERRIDES, ControlError, LbLoop
from pykeepalived.lb.memory import MemoryBackend
from pykeepalived.lb.overrides import restate

from .helpers import conf

VS_A, VS_B = "TCP 192.0.2.80:80", "TCP 192.0.2.81:80"
TWO_VS = """
virtual_server 192.0.2.80 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    real_server 192.0.2.21 80 { weight 2 }
    real_server 192.0.2.22 80 { weight 2 }
}
virtual_server 192.0.2.81 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    real_server 192.0.2.21 80 { weight 3 }
}
"""
LIVE = [(VS_A, "192.0.2.21", 80), (VS_A, "192.0.2.22", 80), (VS_B, "192.0.2.21", 80)]


class CountingBackend(MemoryBackend):
    """The memory backend, counting whole-table dumps (a server's view must not need one)."""

    def __init__(self) -> None:
        super().__init__()
        self.dumps = 0

    def dump(self, counts: bool = True, servers=None, keys=None):
        self.dumps += keys is None
        return super().dump(counts, servers, keys)


def set_active(backend: MemoryBackend, addr: str, n: int) -> None:
    for svc in backend.table.values():
        for key, d in list(svc.dests.items()):
            if d.addr == addr:
                svc.dests[key] = dataclasses.replace(d, active=n)


def weights(backend: MemoryBackend) -> dict[tuple[str, str], int]:
    return {(str(k), d.addr): d.weight for k, s in backend.table.items() for d in s.dests.values()}


def test_restate_splits_a_wider_selector_and_keeps_everything_else() -> None:
    wide = Overrides({(None, "192.0.2.21", None)}, {(None, "192.0.2.21", None): 5})
    out = restate(wide, LIVE, [(VS_A, "192.0.2.21", 80)], drained=False)
    assert out.drained == {(VS_B, "192.0.2.21", 80)}  # still drained in the other virtual server
    assert out.weights == wide.weights  # weight=KEEP: untouched
    out = restate(wide, LIVE, [(VS_A, "192.0.2.21", 80)], weight=None)
    assert out.weights == {(VS_B, "192.0.2.21", 80): 5}
    out = restate(Overrides(), LIVE, [(VS_A, "192.0.2.22", 80)], drained=True, weight=9)
    assert out.drained == {(VS_A, "192.0.2.22", 80)} and out.weights == {(VS_A, "192.0.2.22", 80): 9}
    same = restate(out, LIVE, [(VS_A, "192.0.2.22", 80)], drained=True, weight=9)
    assert (same.drained, same.weights) == (out.drained, out.weights)


def test_real_server_restates_one_server_idempotently_and_survives_restart(tmp_path) -> None:
    async def main():
        backend = CountingBackend()
        loop = LbLoop(conf(TWO_VS), tmp_path, backend)
        await loop.start()
        changed, views = loop.real_server("192.0.2.21", drained=True, dry_run=True)
        assert changed and [v["drained"] for v in views] == [True, True]  # what it would be
        assert weights(backend)[(VS_A, "192.0.2.21")] == 2 and not (tmp_path / OVERRIDES).exists()

        changed, views = loop.real_server("192.0.2.21", drained=True)
        assert changed and [(v["virtual_server"], v["effective_weight"]) for v in views] == [(VS_A, 0), (VS_B, 0)]
        assert loop.real_server("192.0.2.21", drained=True)[0] is False
        assert loop.real_server("192.0.2.21", drained=True, dry_run=True)[0] is False
        changed, views = loop.real_server("192.0.2.21", None, VS_B, drained=False, weight=7)
        assert changed and views == [{"virtual_server": VS_B, "address": "192.0.2.21", "port": 80, "up": True,
                                      "weight": 3, "runtime_weight": 7, "drained": False, "effective_weight": 7,
                                      "in_kernel": True, "active": 0, "inactive": 0, "active_elsewhere": 0}]
        assert weights(backend)[(VS_A, "192.0.2.21")] == 0 and weights(backend)[(VS_B, "192.0.2.21")] == 7
        saved = json.loads((tmp_path / OVERRIDES).read_text())
        assert saved == {"drained": [[VS_A, "192.0.2.21", 80]], "weights": [[VS_B, "192.0.2.21", 80, 7]]}
        backend.dumps = 0
        set_active(backend, "192.0.2.21", 2)
        assert loop.active_connections("192.0.2.21", 80, VS_A) == 2
        assert backend.dumps == 0  # one server's counts, not the whole table
        assert await loop.wait_drain("192.0.2.21", 80, VS_A, timeout=0.1, interval=0.02) == (False, 2)
        await loop.stop()

        backend2 = MemoryBackend()  # a restart: the state is the file's
        loop2 = LbLoop(conf(TWO_VS), tmp_path, backend2)
        await loop2.start()
        assert weights(backend2) == {(VS_A, "192.0.2.21"): 0, (VS_A, "192.0.2.22"): 2, (VS_B, "192.0.2.21"): 7}
        await loop2.reload(conf(TWO_VS))  # a reload of the same config keeps it too
        assert weights(backend2)[(VS_A, "192.0.2.21")] == 0
        await loop2.stop()
    asyncio.run(main())


def test_bad_requests_say_what_the_daemon_knows_and_change_nothing(tmp_path) -> None:
    async def main():
        loop = LbLoop(conf(TWO_VS), tmp_path, MemoryBackend())
        await loop.start()
        with pytest.raises(ControlError, match=r"no real server 192\.0\.2\.99; real servers: "
                                               r"192\.0\.2\.21:80, 192\.0\.2\.22:80"):
            await real_server_command(loop, {"address": "192.0.2.99", "state": "drained"})
        with pytest.raises(ControlError, match=r"no virtual server 'TCP 192\.0\.2\.9:80'; virtual servers: "
                                               r"TCP 192\.0\.2\.80:80, TCP 192\.0\.2\.81:80"):
            await real_server_command(loop, {"address": "192.0.2.21", "virtual_server": "TCP 192.0.2.9:80"})
        with pytest.raises(ControlError, match=r"weight must be an integer 0\.\.65535"):
            await real_server_command(loop, {"address": "192.0.2.21", "weight": 70000})
        with pytest.raises(ControlError, match="state must be one of enabled, drained"):
            await real_server_command(loop, {"address": "192.0.2.21", "state": "off"})
        assert not (tmp_path / OVERRIDES).exists()
        await loop.stop()
    asyncio.run(main())


def test_command_waits_for_idle_and_for_up(tmp_path) -> None:
    text = TWO_VS.replace("real_server 192.0.2.22 80 { weight 2 }",
                          "real_server 127.0.0.1 1 {\n weight 2\n TCP_CHECK {\n connect_timeout 1\n retry 0\n alpha\n }\n }")

    async def main():
        backend = MemoryBackend()
        loop = LbLoop(conf(text), tmp_path, backend)
        await loop.start()
        set_active(backend, "192.0.2.21", 1)

        async def close_later():
            await asyncio.sleep(0.2)
            set_active(backend, "192.0.2.21", 0)
        task = asyncio.create_task(close_later())
        out = await real_server_command(loop, {"address": "192.0.2.21", "state": "drained", "wait": True,
                                               "timeout": 10})
        await task
        assert out["changed"] and out["waited"] == {"done": True, "for": "idle", "active": 0}
        # nothing listens on 127.0.0.1:1: its checker says down, so waiting for up times out
        out = await real_server_command(loop, {"address": "127.0.0.1", "state": "enabled", "wait": True,
                                               "timeout": 3})
        assert out["changed"] is False and out["waited"] == {"done": False, "for": "up", "down": [VS_A]}
        await loop.stop()
    asyncio.run(main())


def test_control_socket_and_pykeepalivedctl(tmp_path, memory_plane) -> None:
    """The daemon's ``real-server`` command end to end, as the module and pykeepalivedctl send it."""
    import io

    from pykeepalived.cli import ctl_parser
    from pykeepalived.core.daemon import Daemon
    from pykeepalived.ctl import run_command
    from pykeepalived.services.runfiles import RunFiles

    from .helpers import ask

    cfg = tmp_path / "keepalived.conf"
    cfg.write_text(TWO_VS)
    run = tmp_path / "run"

    def ctl(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        rc = run_command(ctl_parser().parse_args([*argv, "--runtime-dir", str(run)]), out, err)
        return rc, out.getvalue(), err.getvalue()

    async def main():
        daemon = Daemon(conf(TWO_VS), RunFiles(str(run)), str(cfg), vrrp=False)
        task = asyncio.create_task(daemon.run())
        sock = run / "control.sock"
        for _ in range(200):
            if sock.exists():
                break
            await asyncio.sleep(0.02)
        line = json.dumps({"v": 1, "cmd": "real-server", "address": "192.0.2.21", "virtual_server": VS_A,
                           "state": "drained", "dry_run": True}).encode() + b"\n"
        (reply,) = await ask(sock, line)
        assert reply["ok"] and reply["result"]["changed"] is True
        assert reply["result"]["servers"][0]["drained"] is True  # would be; nothing changed yet
        rc, out, _ = await asyncio.to_thread(ctl, "real-server", "192.0.2.21", "--virtual-server", VS_A)
        assert rc == 0 and out.startswith("unchanged") and "drained" not in out
        rc, out, _ = await asyncio.to_thread(ctl, "real-server", "192.0.2.21", "80", "--state", "drained",
                                             "--wait", "--timeout", "5")
        assert rc == 0 and out.splitlines()[0] == "changed" and out.count("  drained") == 2
        assert out.splitlines()[-1] == "wait for idle: done"
        rc, _, err = await asyncio.to_thread(ctl, "real-server", "192.0.2.99", "--state", "drained")
        assert rc == 1 and "no real server 192.0.2.99; real servers: 192.0.2.21:80, 192.0.2.22:80" in err
        rc, _, err = await asyncio.to_thread(ctl, "real-server", "192.0.2.21", "--weight", "70000")
        assert rc == 1 and "weight must be an integer 0..65535" in err
        assert json.loads((run / OVERRIDES).read_text())["weights"] == []
        daemon.request_stop("test")
        assert await task == 0
    asyncio.run(main())
