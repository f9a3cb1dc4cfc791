"""core/metrics.py: the keyword, the text format, and a real scrape of an in-process daemon on 127.0.0.1."""
from __future__ import annotations

import asyncio
import socket

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.core.daemon import Daemon
from pykeepalived.core.metrics import parse_listen, render
from pykeepalived.services.runfiles import RunFiles

from .helpers import conf, vs_conf


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_keyword_is_off_by_default_and_validated() -> None:
    assert conf("global_defs {\n router_id a\n}\n").global_defs.metrics_listen is None
    assert conf("global_defs {\n metrics_listen 127.0.0.1:9650\n}\n").global_defs.metrics_listen == "127.0.0.1:9650"
    assert conf("global_defs {\n metrics_listen [::1]:9650\n}\n").global_defs.metrics_listen == "[::1]:9650"
    _, diags = loads_config("global_defs {\n    metrics_listen localhost:99999\n}\n")
    [err] = diags.errors
    assert "2:20" in str(err) and "not an IP address" in str(err)
    with pytest.raises(ValueError, match="not a port"):
        parse_listen("127.0.0.1:0")


STATUS = {
    "reloads": 2, "reload_failures": 1,
    "children": {"vrrp": {"up": True, "restarts": 1}, "check": {"up": False, "restarts": 0}},
    "vrrp": {"instances": [{"name": "VI_1", "state": "MASTER", "priority": 150, "effective_priority": 140,
                            "counters": {"transitions": 2, "adverts_sent": 30, "adverts_received": 4,
                                         "became_master": 1, "split_brains": 2, "drops": {"ttl": 3, "auth": 0}}}],
             "socket_drops": {"eth0/ipv4": {"vrid": 5}}},
    "lb": {"virtual_servers": [{"virtual_server": "TCP 192.0.2.80:80", "real_servers": [
        {"address": "192.0.2.21", "port": 80, "up": True, "weight": 1, "effective_weight": 0, "drained": True}]}],
        "checkers": [{"virtual_server": "TCP 192.0.2.80:80", "real_server": "192.0.2.21:80",
                      "checkers": [{"kind": "TCP_CHECK", "up": True, "runs": 7}]}],
        "checker_lateness": {"p50": 0.002, "max": 0.01, "count": 7}},
}


def test_render() -> None:
    text = render(STATUS)
    lines = text.splitlines()
    assert 'pykeepalived_vrrp_state{instance="VI_1",state="MASTER"} 1' in lines
    assert 'pykeepalived_vrrp_state{instance="VI_1",state="BACKUP"} 0' in lines
    assert 'pykeepalived_vrrp_transitions_total{instance="VI_1"} 2' in lines
    assert 'pykeepalived_vrrp_adverts_sent_total{instance="VI_1"} 30' in lines
    assert 'pykeepalived_vrrp_drops_total{instance="VI_1",reason="ttl"} 3' in lines
    assert 'pykeepalived_vrrp_split_brains_total{instance="VI_1"} 2' in lines
    assert 'pykeepalived_vrrp_socket_drops_total{socket="eth0/ipv4",reason="vrid"} 5' in lines
    rs = 'virtual_server="TCP 192.0.2.80:80",real_server="192.0.2.21:80"'
    assert f"pykeepalived_real_server_up{{{rs}}} 1" in lines
    assert f"pykeepalived_real_server_effective_weight{{{rs}}} 0" in lines
    assert f'pykeepalived_checker_runs_total{{{rs},checker="TCP_CHECK#0"}} 7' in lines
    assert 'pykeepalived_checker_lateness_seconds{quantile="0.5"} 0.002' in lines
    assert 'pykeepalived_child_restarts_total{child="vrrp"} 1' in lines
    assert 'pykeepalived_child_up{child="check"} 0' in lines
    # every series has exactly one HELP and TYPE line, before its samples
    names = [ln.split()[2] for ln in lines if ln.startswith("# TYPE")]
    assert len(names) == len(set(names))
    assert render({}) == "# HELP pykeepalived_up 1 while the daemon answers\n# TYPE pykeepalived_up gauge\n" \
                         "pykeepalived_up 1\n"


async def http(port: int, request: bytes) -> tuple[str, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = data.decode().partition("\r\n\r\n")
    return head.split("\r\n")[0], body


def test_scrape_a_running_daemon(tmp_path, memory_plane) -> None:
    port = free_port()
    text = f"global_defs {{\n    metrics_listen 127.0.0.1:{port}\n}}\n" + vs_conf("192.0.2.21")
    cfg = tmp_path / "keepalived.conf"
    cfg.write_text(text)

    async def main() -> None:
        daemon = Daemon(conf(text), RunFiles(str(tmp_path / "run")), str(cfg), vrrp=False)
        task = asyncio.create_task(daemon.run())
        for _ in range(200):
            if daemon.metrics is not None and daemon.metrics.server is not None:
                break
            await asyncio.sleep(0.02)
        status, body = await http(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == "HTTP/1.0 200 OK"
        assert "pykeepalived_up 1" in body
        assert 'pykeepalived_real_server_weight{virtual_server="TCP 192.0.2.80:80",real_server="192.0.2.21:80"} 2' \
            in body.splitlines(), body
        assert (await http(port, b"GET / HTTP/1.0\r\n\r\n"))[0] == "HTTP/1.0 404 Not Found"
        assert (await http(port, b"POST /metrics HTTP/1.0\r\n\r\n"))[0] == "HTTP/1.0 405 Method Not Allowed"
        assert (await http(port, b"\x00" * 9000))[0] == ""  # overlong junk: closed, daemon fine
        assert (await http(port, b"GET /metrics HTTP/1.0\r\n\r\n"))[0] == "HTTP/1.0 200 OK"
        assert daemon.metrics.scrapes == 2
        daemon.request_stop("test")
        assert await task == 0
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)

    asyncio.run(main())
