"""The judge process kept from one reload to the next (core/reload.py ``Judge``).

Real processes throughout: each ``load_new`` asks the one forked judge; what it sent is
read from the verdict's snapshot bytes (only the blobs this process did not hold)."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
import signal
import socket
from pathlib import Path

import pytest

from pykeepalived.core import reload as reload_mod
from pykeepalived.core import snapshot
from pykeepalived.core.judge import load_for_start
from pykeepalived.core.reload import load_new


def vs(i: int, weight: int = 1, extra: str = "") -> str:
    return (f"virtual_server 192.0.2.{i} 80 {{\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n{extra}"
            f"    real_server 198.51.100.{i} 8080 {{\n        weight {weight}\n    }}\n}}\n")


BASE = "global_defs {\n    router_id kept\n}\n"


def judged(path: Path):
    return asyncio.run(load_new(str(path), lb_backend=False))


def sent_blobs(verdict) -> int:
    return len(pickle.loads(verdict.snapshot)[3])


def judge_pid() -> int:
    return reload_mod._JUDGES[0].pid  # noqa: SLF001 (which process answered)


def test_one_judge_answers_every_reload_and_sends_only_the_changed_block(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(BASE + "".join(vs(i) for i in range(1, 6)))
    first = judged(conf)
    assert first.config is not None and first.errors == []
    pid = judge_pid()
    conf.write_text(BASE + "".join(vs(i, weight=7 if i == 3 else 1) for i in range(1, 6)))
    second = judged(conf)
    assert judge_pid() == pid
    assert sent_blobs(second) == 1  # the judge knows what this process holds: the one new block
    assert second.config.virtual_servers[2].real_servers[0].weight == 7
    assert all(a is b for i, (a, b) in enumerate(zip(first.config.virtual_servers, second.config.virtual_servers))
               if i != 2)


def test_a_bad_changed_block_is_located_and_the_accepted_one_stays_the_base(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    good = BASE + "".join(vs(i) for i in range(1, 5))
    conf.write_text(good)
    accepted = judged(conf)
    running = snapshot.DECODER.config
    assert running is accepted.config
    bad = BASE + vs(1) + vs(2, extra="    delay_loop banana\n") + vs(3) + vs(4)
    conf.write_text(bad)
    refused = judged(conf)
    line = bad.splitlines().index("    delay_loop banana") + 1
    assert refused.config is None
    assert any(e.startswith(f"{conf}:{line}:") and ": error: " in e for e in refused.errors), refused.errors
    assert snapshot.DECODER.config is running  # this process still holds what it ran
    conf.write_text(BASE + vs(1) + vs(2, weight=4) + vs(3) + vs(4))
    fixed = judged(conf)
    assert fixed.errors == [] and sent_blobs(fixed) == 1  # compared with the accepted file, not the refused one
    assert fixed.config.virtual_servers[0] is accepted.config.virtual_servers[0]


def test_cross_block_errors_are_caught_on_a_partial_reload(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(BASE + vs(1) + vs(2) + vs(3))
    assert judged(conf).errors == []
    twice = BASE + vs(1) + vs(2) + vs(3) + vs(2, weight=5)  # a new block that repeats an unchanged one's service
    conf.write_text(twice)
    refused = judged(conf)
    line = len((BASE + vs(1) + vs(2) + vs(3)).splitlines()) + 1
    assert refused.config is None
    assert any(e.startswith(f"{conf}:{line}:") and "defined twice" in e for e in refused.errors), refused.errors
    grouped = BASE + vs(1) + vs(2) + vs(3).replace("virtual_server 192.0.2.3 80", "virtual_server group NOPE")
    conf.write_text(grouped)
    refused = judged(conf)
    assert refused.config is None
    assert any("'NOPE' is not a defined virtual_server_group" in e for e in refused.errors), refused.errors


def test_a_parent_holding_other_blobs_gets_them_all(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(BASE + vs(1) + vs(2))
    accepted = judged(conf)
    snapshot.encode(dataclasses.replace(accepted.config, virtual_servers=()))  # this process dropped the blobs
    conf.write_text(BASE + vs(1) + vs(2, weight=3))
    again = judged(conf)  # sent as if this process held the first block's blob: it could not decode it
    assert again.errors == [] and sent_blobs(again) == 2
    assert again.config.virtual_servers[1].real_servers[0].weight == 3


def test_a_judge_gone_while_idle_is_replaced(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(BASE + vs(1))
    judged(conf)
    pid = judge_pid()
    os.kill(pid, signal.SIGKILL)  # our own child, by its pid
    while reload_mod._JUDGES[0].alive():  # noqa: SLF001
        pass
    conf.write_text(BASE + vs(1, weight=2))
    again = judged(conf)
    assert again.errors == [] and judge_pid() != pid
    assert again.config.virtual_servers[0].real_servers[0].weight == 2


def test_the_judge_holds_none_of_the_daemons_sockets(tmp_path: Path) -> None:
    """A listener this process closes is closed: the judge kept beside it did not keep a copy."""
    for judge in list(reload_mod._JUDGES):  # noqa: SLF001 (the next judge is forked with the listener open)
        os.kill(judge.pid, signal.SIGKILL)
        while judge.alive():
            pass
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    conf = tmp_path / "k.conf"
    conf.write_text(BASE + vs(1))
    assert judged(conf).errors == []
    listener.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_the_first_reload_after_a_start_hands_the_unchanged_blocks_over(tmp_path: Path) -> None:
    """A standalone daemon's start config is what the decoder holds: the first reload's unchanged
    virtual servers are its objects (made anew, the checkers and the plane rebuilt every one)."""
    for judge in list(reload_mod._JUDGES):  # noqa: SLF001 (a judge forked after this start)
        os.kill(judge.pid, signal.SIGKILL)
        while judge.alive():
            pass
    conf = tmp_path / "k.conf"
    conf.write_text(BASE + "".join(vs(i) for i in range(1, 5)))
    started = load_for_start(str(conf))
    conf.write_text(BASE + "".join(vs(i, weight=2 if i == 4 else 1) for i in range(1, 5)))
    first = judged(conf)
    assert first.errors == [] and sent_blobs(first) == 1
    assert all(a is b for a, b in zip(started.virtual_servers[:3], first.config.virtual_servers[:3]))


def test_a_config_without_virtual_servers_keeps_no_judge(tmp_path: Path) -> None:
    """VRRP instances alone: a judge forked per reload is cheap, a kept one a process more."""
    conf = tmp_path / "k.conf"
    conf.write_text(BASE + "vrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 51\n    priority 100\n"
                    "    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\n")
    verdict = judged(conf)
    assert verdict.errors == [] and not verdict.config.virtual_servers
    assert reload_mod._JUDGES == []  # noqa: SLF001 (it was discarded after answering)
