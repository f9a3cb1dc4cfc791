"""vrrp_track_process: matching and quorum (pure, virtual clock), then real processes on this host."""
from __future__ import annotations

import asyncio
import importlib.util
import os
import struct
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pykeepalived.config.model_track_process import TrackProcess
from pykeepalived.vrrp.process_match import ProcInfo, Quorum, matches, parse_stat
from pykeepalived.vrrp.process_watch import (
    EV_EXEC,
    EV_EXIT,
    EV_FORK,
    ProcessTracker,
    ProcessView,
    open_connector,
    parse_events,
    tracked_weight,
)

_spec = importlib.util.spec_from_file_location("importgraph", Path(__file__).parent.parent / "importgraph.py")
importgraph = sys.modules.setdefault("importgraph", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(importgraph)


def spec(*process: str, **kw) -> TrackProcess:
    return TrackProcess(name="p", process=process, **kw)


def test_the_pure_part_reaches_no_io() -> None:
    graph = importgraph.build()
    io = {"asyncio", "socket", "select", "selectors", "threading", "subprocess"}
    found = [ext for mod in importgraph.closure(graph, "pykeepalived.vrrp.process_match")
             for ext in graph[mod].external if ext in io]
    assert not found


def test_name_match_is_exact_on_comm_and_skips_zombies() -> None:
    assert matches(spec("sshd"), ProcInfo(1, "sshd"))
    assert not matches(spec("ssh"), ProcInfo(1, "sshd"))  # not pgrep's regular expression
    assert not matches(spec("sshd"), ProcInfo(1, "sshd", zombie=True))
    assert matches(spec("a-very-long-process-name"), ProcInfo(1, "a-very-long-pro"))  # comm keeps 15


def test_command_line_matching_modes() -> None:
    argv = ("/usr/sbin/haproxy", "-f", "/etc/haproxy.cfg", "-Ws")
    proc = ProcInfo(1, "haproxy", argv)
    assert matches(spec(*argv), proc)
    assert not matches(spec("/usr/sbin/haproxy", "-f"), proc)  # exact by default
    assert matches(spec("/usr/sbin/haproxy", "-f", param_match="partial"), proc)
    assert not matches(spec("/usr/sbin/haproxy", "-f", "/etc/h", param_match="partial"), proc)
    assert matches(spec("/usr/sbin/haproxy", "-f", "/etc/h", param_match="initial"), proc)
    assert not matches(spec("/usr/sbin/haproxy", param_match="partial", full_command=True),
                       ProcInfo(1, "haproxy", ("/usr/sbin/haproxyX",)))
    # bare param_match without parameters: the command must have none
    assert not matches(spec("/usr/sbin/haproxy", param_match="exact"), proc)
    assert matches(spec("/usr/sbin/haproxy", param_match="exact"), ProcInfo(1, "haproxy", ("/usr/sbin/haproxy",)))
    # full_command alone: the program only, any parameters (keepalived 2.2.7's check_params)
    assert matches(spec("/usr/sbin/haproxy", full_command=True), proc)
    assert not matches(spec("haproxy", full_command=True), proc)


def test_parse_stat_handles_odd_names() -> None:
    assert parse_stat("42 (my (odd) name) S 1 2") == ("my (odd) name", False)
    assert parse_stat("43 (dead) Z 1 2") == ("dead", True)


def test_quorum_bounds_and_delays_on_a_virtual_clock() -> None:
    q = Quorum(spec("x", quorum=2, quorum_max=3, fork_delay=1.0, terminate_delay=2.0))
    assert q.feed(1, 0.0) is False  # the first count decides at once
    assert q.feed(2, 10.0) is None and q.next_deadline() == 11.0  # fork_delay
    assert q.handle_timer(10.5) is None
    assert q.feed(2, 10.9) is None
    assert q.handle_timer(11.0) is True
    assert q.feed(4, 20.0) is None and q.next_deadline() == 22.0  # above quorum_max: terminate_delay
    assert q.feed(3, 21.0) is None and q.next_deadline() is None  # back in quorum: the bounce is absorbed
    assert q.feed(0, 30.0) is None
    assert q.handle_timer(32.0) is False
    zero = Quorum(spec("x"))
    assert zero.feed(1, 0.0) is True and zero.feed(0, 1.0) is False  # no delay: at once


def test_weight_and_reverse() -> None:
    assert tracked_weight(spec("x", weight=10), None, False) == (10, False)
    assert tracked_weight(spec("x", weight=10), -5, True) == (5, False)
    assert tracked_weight(spec("x", weight=0, weight_reverse=True), None, False) == (0, True)


def _event(what: int, *ints: int) -> bytes:
    body = struct.pack("=IIQ", what, 0, 0) + struct.pack(f"={len(ints)}I", *ints)
    body += b"\0" * (24 - len(ints) * 4)
    cn = struct.pack("=IIIIHH", 1, 1, 0, 0, len(body), 0) + body
    return struct.pack("=IHHII", 16 + len(cn), 3, 0, 0, 0) + cn


def test_parse_events_keeps_processes_not_threads() -> None:
    data = (_event(EV_FORK, 10, 10, 20, 20) + _event(EV_FORK, 10, 10, 21, 20) + _event(EV_EXEC, 30, 30)
            + _event(EV_EXIT, 31, 30) + _event(EV_EXIT, 40, 40))
    assert parse_events(data) == [(EV_FORK, 20), (EV_EXEC, 30), (EV_EXIT, 40)]


async def _until(pred, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.02)


async def _follow_a_real_process(view: ProcessView) -> list[bool]:
    tag = f"0.{uuid.uuid4().int % 10**12:012d}"  # a word no other process on the machine carries
    tracker = ProcessTracker(spec("sleep", "300", tag, param_match="partial"), view)
    seen: list[bool] = []
    tracker.listen(seen.append)
    assert not tracker.up
    tracker.start()
    proc = subprocess.Popen(["sleep", "300", tag])
    try:
        await _until(lambda: seen == [True])
    finally:
        proc.terminate()
        proc.wait()
    await _until(lambda: seen == [True, False])
    await tracker.stop()
    return seen


def test_scan_mode_follows_a_real_process() -> None:
    view = ProcessView(use_connector=False)
    asyncio.run(_follow_a_real_process(view))
    assert view.mode == "stopped"


@pytest.mark.skipif(os.geteuid() != 0, reason="process events need CAP_NET_ADMIN")
def test_event_mode_where_the_kernel_delivers() -> None:
    sock = open_connector()
    if sock is None:
        pytest.skip("not in the initial network/PID namespace: the scan mode is the one that runs here")
    sock.close()
    view = ProcessView()
    modes = []

    async def run() -> None:
        task = asyncio.get_running_loop().create_task(_follow_a_real_process(view))
        await _until(lambda: view.mode != "stopped")
        modes.append(view.mode)
        await task
    asyncio.run(run())
    assert modes == ["events"]
