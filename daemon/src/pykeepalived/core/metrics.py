"""Prometheus text exposition (format 0.0.4) over a minimal asyncio HTTP/1.0 server.

Off by default; ``global_defs { metrics_listen 127.0.0.1:9650 }`` (pykeepalived's
own keyword) turns it on.  ``GET /metrics`` renders the same status the control
socket returns (``render(status)``: pure), so the supervisor's merged status
and a single-process daemon give the same series.  No dependency, no auth:
bind it to loopback or a management address.  Read once at start (a reload
does not move the listener).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ..compat.aio import TIMEOUT_ERRORS
from ..config.listen import parse_listen  # config/keywords/global_defs.py imports it from here

log = logging.getLogger("pykeepalived.metrics")

STATES = ("INIT", "BACKUP", "MASTER", "FAULT")
HEADER_LIMIT = 8192
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _esc(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class _Out:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.seen: set[str] = set()

    def add(self, name: str, kind: str, help_: str, value: float | int | None, **labels: object) -> None:
        if value is None:
            return
        if name not in self.seen:
            self.seen.add(name)
            self.lines += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]
        lab = ",".join(f'{k}="{_esc(v)}"' for k, v in labels.items())
        self.lines.append(f"{name}{{{lab}}} {float(value):g}" if lab else f"{name} {float(value):g}")


def render(st: dict) -> str:
    """The status dict (control socket ``status``) as Prometheus text."""
    o = _Out()
    o.add("pykeepalived_up", "gauge", "1 while the daemon answers", 1)
    o.add("pykeepalived_reloads_total", "counter", "successful reloads", st.get("reloads"))
    o.add("pykeepalived_reload_failures_total", "counter", "rejected reloads", st.get("reload_failures"))
    for role, child in (st.get("children") or {}).items():
        o.add("pykeepalived_child_up", "gauge", "1 while the child process reports to the parent",
              int(bool(child.get("up"))), child=role)
        o.add("pykeepalived_child_restarts_total", "counter", "restarts of a child by the parent",
              child.get("restarts"), child=role)
    for inst in (st.get("vrrp") or {}).get("instances", []):
        name = inst["name"]
        for state in STATES:
            o.add("pykeepalived_vrrp_state", "gauge", "1 for the instance's current state",
                  int(inst.get("state") == state), instance=name, state=state)
        o.add("pykeepalived_vrrp_priority", "gauge", "configured priority", inst.get("priority"), instance=name)
        o.add("pykeepalived_vrrp_effective_priority", "gauge", "priority after tracking",
              inst.get("effective_priority"), instance=name)
        c = inst.get("counters") or {}
        for key, help_ in (("transitions", "state transitions"), ("adverts_sent", "adverts sent"),
                           ("adverts_received", "adverts received"), ("became_master", "transitions to MASTER"),
                           ("priority_zero_sent", "priority 0 adverts sent"),
                           ("priority_zero_received", "priority 0 adverts received"),
                           ("split_brains", "split brains seen as master (another master, lower priority)")):
            o.add(f"pykeepalived_vrrp_{key}_total", "counter", help_, c.get(key), instance=name)
        for reason, n in sorted((c.get("drops") or {}).items()):
            o.add("pykeepalived_vrrp_drops_total", "counter", "dropped adverts by reason", n,
                  instance=name, reason=reason)
    for sock, drops in sorted(((st.get("vrrp") or {}).get("socket_drops") or {}).items()):
        for reason, n in sorted(drops.items()):
            o.add("pykeepalived_vrrp_socket_drops_total", "counter",
                  "packets dropped before any instance (no such VRID, undecodable)", n, socket=sock, reason=reason)
    lb = st.get("lb") or {}
    for vs in lb.get("virtual_servers", []):
        for rs in vs.get("real_servers", []):
            port = rs.get("port")
            labels = {"virtual_server": vs.get("virtual_server"),
                      "real_server": f"{rs.get('address')}{'' if port is None else f':{port}'}"}
            o.add("pykeepalived_real_server_up", "gauge", "1 while the checkers say up", int(bool(rs.get("up"))),
                  **labels)
            o.add("pykeepalived_real_server_weight", "gauge", "configured weight", rs.get("weight"), **labels)
            o.add("pykeepalived_real_server_effective_weight", "gauge",
                  "weight in the kernel (0: drained or down)", rs.get("effective_weight"), **labels)
            o.add("pykeepalived_real_server_drained", "gauge", "1 while drained by the operator",
                  int(bool(rs.get("drained"))), **labels)
    for chk in lb.get("checkers", []):
        for i, job in enumerate(chk.get("checkers", [])):
            labels = {"virtual_server": chk.get("virtual_server"), "real_server": chk.get("real_server"),
                      "checker": f"{job.get('kind')}#{i}"}
            o.add("pykeepalived_checker_up", "gauge", "1 while this checker says up", int(bool(job.get("up"))),
                  **labels)
            o.add("pykeepalived_checker_runs_total", "counter", "checks run", job.get("runs"), **labels)
    lat = lb.get("checker_lateness") or {}
    o.add("pykeepalived_checker_lateness_seconds", "gauge",
          "how late checks start after their due time (scheduler latency)", lat.get("p50"), quantile="0.5")
    o.add("pykeepalived_checker_lateness_seconds", "gauge", "", lat.get("max"), quantile="1")
    o.add("pykeepalived_checker_lateness_samples_total", "counter", "checks whose lateness was measured",
          lat.get("count"))
    return "\n".join(o.lines) + "\n"


class MetricsServer:
    """``GET /metrics`` -> ``render(await get_status())``; anything else 404/405."""

    def __init__(self, listen: str, get_status: Callable[[], Awaitable[dict]]) -> None:
        self.host, self.port = parse_listen(listen)
        self.get_status = get_status
        self.server: asyncio.AbstractServer | None = None
        self.scrapes = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, self.host, self.port, limit=HEADER_LIMIT)
        log.info("metrics on http://%s/metrics",
                 f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}")

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)
            self.server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            parts = head.split(b"\r\n", 1)[0].split()
            method, path = (parts[0], parts[1].split(b"?")[0]) if len(parts) >= 2 else (b"", b"")
            if method not in (b"GET", b"HEAD"):
                status, body = "405 Method Not Allowed", "GET only\n"
            elif path != b"/metrics":
                status, body = "404 Not Found", "see /metrics\n"
            else:
                self.scrapes += 1
                status, body = "200 OK", render(await self.get_status())
            data = body.encode()
            writer.write(f"HTTP/1.0 {status}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {len(data)}\r\n"
                         f"Connection: close\r\n\r\n".encode() + (data if method != b"HEAD" else b""))
            await writer.drain()
        except (*TIMEOUT_ERRORS, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except Exception:  # a scrape never takes the daemon down
            log.exception("metrics request failed")
        finally:
            writer.close()
