"""The daemon in-process (checkers + LB only, no VRRP, no root): control socket, reload, dumps, sd_notify."""
from __future__ import annotations

import asyncio
import json
import socket

from pykeepalived.cli import main as daemon_main
from pykeepalived.core.daemon import Daemon
from pykeepalived.core.dumps import render_text
from pykeepalived.services.runfiles import RunFiles
from pykeepalived.services.sdnotify import SdNotify

from .helpers import ask, conf, vs_conf


def req(**kw) -> bytes:
    return json.dumps({"v": 1, **kw}).encode() + b"\n"


def test_reload_drain_dumps_and_notify(tmp_path, memory_plane) -> None:
    cfg = tmp_path / "keepalived.conf"
    cfg.write_text(vs_conf("192.0.2.21"))
    run = tmp_path / "run"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.setblocking(False)

    def messages() -> list[str]:
        out = []
        while True:
            try:
                out.append(notify.recv(4096).decode())
            except BlockingIOError:
                return out

    received: list[str] = []  # read as systemd does, as they come (the queue holds only ~10)

    async def main():
        loop = asyncio.get_running_loop()
        loop.add_reader(notify.fileno(), lambda: received.extend(messages()))
        daemon = Daemon(conf(cfg.read_text()), RunFiles(str(run)), str(cfg), vrrp=False)
        daemon.sd = SdNotify({"NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "200000"})
        task = asyncio.create_task(daemon.run())
        sock = run / "control.sock"
        for _ in range(100):
            if sock.exists():
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.25)
        first = list(received)
        st = (await ask(sock, req(cmd="status")))[0]["result"]
        assert st["vrrp"] is None and st["subsystems"] == ["check"]
        assert [r["address"] for r in st["lb"]["virtual_servers"][0]["real_servers"]] == ["192.0.2.21"]

        # broken config: errors with FILE:LINE:COL, the old config keeps running
        cfg.write_text(vs_conf("192.0.2.21", "192.0.2.22").replace("lb_algo rr", "lb_algo nope"))
        bad = (await ask(sock, req(cmd="reload")))[0]["result"]
        assert bad["reloaded"] is False and bad["errors"][0].startswith(f"{cfg}:")
        assert ": error: " in bad["errors"][0]
        st = (await ask(sock, req(cmd="status")))[0]["result"]
        assert len(st["lb"]["virtual_servers"][0]["real_servers"]) == 1 and st["reload_failures"] == 1

        # drain, then a good reload adding a server keeps the drain and the first server's state
        assert (await ask(sock, req(cmd="drain", address="192.0.2.21")))[0]["result"]["changed"] is True
        again = (await ask(sock, req(cmd="drain", address="192.0.2.21")))[0]["result"]
        assert again == {"changed": False, "message": "already drained"}
        cfg.write_text(vs_conf("192.0.2.21", "192.0.2.22"))
        good = (await ask(sock, req(cmd="reload")))[0]["result"]
        assert good["reloaded"] is True and good["lb"] == {"real_servers_added": 1, "real_servers_removed": 0}
        rss = (await ask(sock, req(cmd="status")))[0]["result"]["lb"]["virtual_servers"][0]["real_servers"]
        assert [(r["address"], r["drained"], r["effective_weight"]) for r in rss] == [
            ("192.0.2.21", True, 0), ("192.0.2.22", False, 2)]
        wait = (await ask(sock, req(cmd="wait-drain", address="192.0.2.21", timeout=1)))[0]["result"]
        assert wait == {"drained": True, "active": 0}
        err = (await ask(sock, req(cmd="set-weight", address="192.0.2.21")))[0]
        assert err["ok"] is False and "weight" in err["error"]

        daemon.write_dump()
        daemon.write_stats()
        daemon.request_stop("test")
        assert await task == 0
        loop.remove_reader(notify.fileno())
        received.extend(messages())
        return first, received[len(first):]

    first, last = asyncio.run(main())
    notify.close()
    assert first[0].startswith("READY=1\nSTATUS=") and "1/1 real servers up" in first[0]
    assert "WATCHDOG=1" in first[1:]  # pinged from the loop (every 0.1 s here)
    assert "STOPPING=1" in last
    for name in ("pykeepalived.json", "pykeepalived.data", "pykeepalived.data.json", "pykeepalived.stats",
                 "pykeepalived.stats.json"):
        assert (run / name).stat().st_size > 0, name
    stats = json.loads((run / "pykeepalived.stats.json").read_text())
    assert stats["reloads"] == 1 and stats["reload_failures"] == 1 and stats["lb"]["real_servers"] == 2
    assert "real_servers_up = 2" in (run / "pykeepalived.stats").read_text()
    assert not (run / "control.sock").exists()


def test_render_text() -> None:
    assert render_text({"a": 1, "b": {"c": [1, 2]}, "d": [], "e": [{"name": "VI_1", "state": "MASTER"}]}) == [
        "a = 1", "b:", "  c:", "    - 1", "    - 2", "d = (none)", "e:", "  - VI_1", "    state = MASTER"]


def test_print_unit(capsys) -> None:
    assert daemon_main(["--print-unit"]) == 0
    unit = capsys.readouterr().out
    for line in ("Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
                 "RuntimeDirectoryPreserve=yes"):
        assert line in unit


def test_sdnotify_abstract_and_disabled() -> None:
    assert not SdNotify({}).enabled and SdNotify({}).ready() is False
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(f"\0hk-sdnotify-test-{id(srv)}")
    name = srv.getsockname()[1:].decode() if isinstance(srv.getsockname(), bytes) else srv.getsockname()[1:]
    sd = SdNotify({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"})
    assert sd.watchdog_interval() is None  # WATCHDOG_PID is not us
    assert sd.status("x") and not sd.status("x")  # unchanged STATUS is not resent
    assert srv.recv(100) == b"STATUS=x"
    sd.close()
    srv.close()
    assert SdNotify({"NOTIFY_SOCKET": "/nonexistent/sock", "WATCHDOG_USEC": "3000000"}).watchdog_interval() == 1.5
