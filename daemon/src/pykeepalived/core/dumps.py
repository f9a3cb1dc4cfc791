"""What a daemon says about itself: the status (control socket ``status``, USR1's
data dump, metrics), the stats (USR2), systemd's STATUS= line, and the dump files.

USR1 writes ``pykeepalived.data`` and USR2 ``pykeepalived.stats`` under the
runtime dir (a supervised checker child: ``pykeepalived_check.*``, the BFD child ``pykeepalived_bfd.*``), each as
indented ``key = value`` text (keepalived's style, ``render_text``) and as
``.json``.  The functions read a running ``Daemon`` (core/daemon.py): its
``vrrp`` (VrrpManager or None), ``lb`` (LbLoop or None), counters and control
server.
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from .. import __version__
from ..services.runfiles import write_atomic

log = logging.getLogger("pykeepalived")

DATA_NAME = "pykeepalived.data"
STATS_NAME = "pykeepalived.stats"
CHECK_DATA_NAME = "pykeepalived_check.data"
CHECK_STATS_NAME = "pykeepalived_check.stats"
CHECK_DUMP_NAME = "pykeepalived_check.json"
BFD_DATA_NAME = "pykeepalived_bfd.data"
BFD_STATS_NAME = "pykeepalived_bfd.stats"
BFD_DUMP_NAME = "pykeepalived_bfd.json"


def render_text(data: object, indent: int = 0) -> list[str]:
    """A nested dict/list as indented ``key = value`` lines (keepalived's .data/.stats style)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, (dict, list)) and value:
                lines.append(f"{pad}{key}:")
                lines += render_text(value, indent + 2)
            else:
                lines.append(f"{pad}{key} = {value if value not in ({}, []) else '(none)'}")
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                head = item.get("name") or item.get("virtual_server") or item.get("real_server")
                lines.append(f"{pad}- {head}" if head else f"{pad}-")
                lines += render_text({k: v for k, v in item.items() if v is not head}, indent + 2)
            else:
                lines.append(f"{pad}- {item}")
    else:
        lines.append(f"{pad}{data}")
    return lines


def status(d) -> dict[str, object]:
    return {"pid": os.getpid(), "version": __version__, "config": d.config_path,
            "started": d.started, "dumped": time.time(),
            "subsystems": [s for s, on in (("vrrp", d.vrrp), ("check", d.lb), ("bfd", d.bfd)) if on is not None],
            "reloads": d.reloads, "reload_failures": d.reload_failures,
            "last_reload": d.last_reload,
            "vrrp": d.vrrp.status() if d.vrrp is not None else None,
            "lb": lb_status(d.lb),
            "bfd": d.bfd.status() if d.bfd is not None else None}


def lb_status(lb) -> dict[str, object] | None:
    if lb is None:
        return None
    out = lb.status()
    lat = lb.health.scheduler.lateness if lb.health is not None else None
    if lat is not None and lat.count:
        out["checker_lateness"] = {"p50": lat.percentile(50), "max": lat.max, "count": lat.count}
    return out


def stats(d) -> dict[str, object]:
    out: dict[str, object] = {"pid": os.getpid(), "dumped": time.time(), "uptime": time.time() - d.started,
                              "reloads": d.reloads, "reload_failures": d.reload_failures,
                              "control": {"requests": d.control.requests, "errors": d.control.errors,
                                          "refused": d.control.refused}}
    if d.vrrp is not None:
        st = d.vrrp.status()
        out["vrrp"] = {i["name"]: {"state": i["state"], **i["counters"]} for i in st["instances"]}
        out["socket_drops"] = st["socket_drops"]
    if d.lb is not None:
        lat = d.lb.health.scheduler.lateness if d.lb.health is not None else None
        up, total = d.lb.summary()
        out["lb"] = {"backend": d.lb.lb.backend.name, "reconciles": d.lb.reconciles,
                     "real_servers_up": up, "real_servers": total,
                     "checker_lateness_p50": lat.percentile(50) if lat is not None and lat.count else None,
                     "checker_lateness_max": lat.max if lat is not None and lat.count else None}
    return out


def write(directory: Path, name: str, data: dict, what: str) -> None:
    """``name`` as text and ``name.json``, each replaced atomically."""
    path = directory / name
    write_atomic(path, "\n".join(render_text(data)) + "\n")
    write_atomic(path.with_name(name + ".json"), json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    log.info("%s written to %s (+ .json)", what, path)


def status_line(d) -> str:
    """systemd's STATUS=: "VI_1 MASTER, VI_2 BACKUP, 3/3 real servers up"."""
    parts = []
    if d.vrrp is not None:
        parts.extend(d.vrrp.status_parts())
    if d.lb is not None and d.config.virtual_servers:
        up, total = d.lb.summary()
        parts.append(f"{up}/{total} real servers up")
    if d.bfd is not None and d.bfd.runner.peers:
        up = sum(d.bfd.runner.up(name) for name in d.bfd.runner.peers)
        parts.append(f"{up}/{len(d.bfd.runner.peers)} BFD sessions up")
    return ", ".join(parts) or "running (nothing configured)"
