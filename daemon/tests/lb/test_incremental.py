"""A reconcile costs what changed (lb/plane.py): parts of the desired state used again, same result."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.core.snapshot import Decoder
from pykeepalived.lb import plane as plane_mod
from pykeepalived.lb.desired import compute
from pykeepalived.lb.plane import LoadBalancer

from .helpers import conf, weights


def text(n: int, bump: int = 0, extra_rs: bool = False, quorum: int = 1) -> str:
    out = []
    for v in range(n):
        out.append(f"virtual_server 192.0.2.{v + 1} 80 {{\n  protocol TCP\n  lb_algo wrr\n  quorum {quorum}\n")
        for r in range(3):
            w = 1 + r + (bump if v == 1 and r == 0 else 0)
            out.append(f"  real_server 10.1.{v}.{r + 1} 80 {{\n    weight {w}\n  }}\n")
        if extra_rs and v == 2:
            out.append("  real_server 10.9.0.1 80 {\n    weight 7\n  }\n")
        out.append("}\n")
    return "".join(out)


@pytest.fixture
def counted(monkeypatch) -> list[str]:
    """The virtual servers whose part was computed (the real compute_vs runs)."""
    seen: list[str] = []
    real = plane_mod.compute_vs

    def compute_vs(vs, *args):
        seen.append(vs.key)
        return real(vs, *args)

    monkeypatch.setattr(plane_mod, "compute_vs", compute_vs)
    return seen


def as_child(decoder: Decoder, source: str):
    """The config as a child gets it: through the snapshot, unchanged blocks as the same objects."""
    return decoder.decode(Decoder().encode(conf(source)))


def same_as_full(lb: LoadBalancer) -> None:
    full = compute(lb.config, lb.health, lb.overrides, lb.quorum)
    assert lb.desired.table == full.table
    assert lb.desired.servers == full.servers and lb.desired.services == full.services


def test_reload_recomputes_and_diffs_only_changed_blocks(tmp_path: Path, kernel, counted) -> None:
    k, child = kernel(), Decoder()
    lb = LoadBalancer(as_child(child, text(4)), k.backend, tmp_path)
    assert not lb.start().errors and len(counted) == 4
    counted.clear()
    r = lb.reload(as_child(child, text(4, bump=5)))
    assert counted == ["TCP 192.0.2.2:80"]
    assert [str(op.action) for op in r.ops] == ["set"] and not r.errors
    assert weights(k.view())["TCP 192.0.2.2:80"]["10.1.1.1:80"] == 6
    same_as_full(lb)
    counted.clear()
    r = lb.reload(as_child(child, text(4, bump=5, extra_rs=True)))
    # the block after it moved down two lines: decoded again (new locations), so computed again; no op for it
    assert counted == ["TCP 192.0.2.3:80", "TCP 192.0.2.4:80"] and [op.action for op in r.ops] == ["add"]
    same_as_full(lb)
    counted.clear()
    r = lb.reload(as_child(child, text(3, bump=5, extra_rs=True)))  # the last block removed
    assert counted == [] and [op.action for op in r.ops] == ["del"]
    assert "TCP 192.0.2.4:80" not in weights(k.view())
    same_as_full(lb)


def test_drain_and_health_recompute_the_blocks_they_touch(tmp_path: Path, kernel, counted) -> None:
    k = kernel()
    lb = LoadBalancer(conf(text(4, quorum=3)), k.backend, tmp_path)
    lb.start()
    counted.clear()
    lb.drain("10.1.2.1")
    r = lb.reconcile()
    assert counted == ["TCP 192.0.2.3:80"] and weights(k.view())["TCP 192.0.2.3:80"]["10.1.2.1:80"] == 0
    same_as_full(lb)
    counted.clear()
    lb.set_health("TCP 192.0.2.1:80", ("10.1.0.3", 80), False)  # weight sum 3 -> quorum 3 kept
    lb.set_health("TCP 192.0.2.1:80", ("10.1.0.2", 80), False)  # 1 < 3: quorum lost
    r = lb.reconcile()
    assert counted == ["TCP 192.0.2.1:80"] and [(e.vs, e.up) for e in r.events] == [("TCP 192.0.2.1:80", False)]
    same_as_full(lb)
    counted.clear()
    r = lb.reconcile()  # nothing changed: nothing computed, no event again, no op
    assert counted == [] and r.events == [] and r.ops == []


def test_a_failed_apply_diffs_everything_next_time(tmp_path: Path, kernel) -> None:
    k, child = kernel(), Decoder()
    lb = LoadBalancer(as_child(child, text(3)), k.backend, tmp_path)
    lb.start()
    lb._clean = False  # as after an apply that failed: the next reconcile compares every service
    r = lb.reload(as_child(child, text(3, bump=1)))
    assert [op.action for op in r.ops] == ["set"] and lb._clean
    same_as_full(lb)


def test_a_start_after_a_stop_writes_everything_again(tmp_path: Path, kernel) -> None:
    k = kernel()
    lb = LoadBalancer(conf(text(2)), k.backend, tmp_path)
    lb.start()
    lb.stop()
    assert weights(k.view()) == {}
    assert len(lb.start().ops) == 2 + 2 * 3 and len(weights(k.view())) == 2


GROUPED = """virtual_server_group web {{ 192.0.2.50 80 }}
virtual_server group web {{
  protocol TCP
  real_server 10.2.0.1 80 {{ weight 1 }}
}}
virtual_server 192.0.2.60 80 {{
  protocol TCP
  real_server 10.2.0.2 80 {{ weight 1 }}
}}
virtual_server 192.0.2.61 80 {{
  protocol TCP
  real_server 10.2.0.3 80 {{ weight 1 }}
}}
{extra}"""


def test_a_changed_group_recomputes_its_members_only(tmp_path: Path, kernel, counted) -> None:
    k, child = kernel(), Decoder()
    lb = LoadBalancer(as_child(child, GROUPED.format(extra="")), k.backend, tmp_path)
    lb.start()
    counted.clear()
    # the group's entry moves to port 81: the blocks are the same objects, the group is not
    r = lb.reload(as_child(child, GROUPED.format(extra="").replace("192.0.2.50 80 ", "192.0.2.50 81 ")))
    assert counted == ["TCP group web"]
    assert r.ops and all("192.0.2.50:8" in str(op) for op in r.ops), [str(op) for op in r.ops]
    assert sorted(map(str, k.view())) == ["TCP 192.0.2.50:81", "TCP 192.0.2.60:80", "TCP 192.0.2.61:80"]
    same_as_full(lb)


def test_health_of_a_block_gone_is_forgotten_and_an_edited_block_keeps_its_own(tmp_path: Path, kernel) -> None:
    k, child = kernel(), Decoder()
    lb = LoadBalancer(as_child(child, text(3)), k.backend, tmp_path)
    lb.start()
    lb.set_health("TCP 192.0.2.3:80", ("10.1.2.1", 80), False)
    lb.set_health("TCP 192.0.2.2:80", ("10.1.1.1", 80), False)
    lb.set_health("TCP 192.0.2.2:80", ("10.1.1.2", 80), False)
    lb.reconcile()
    lb.reload(as_child(child, text(2, bump=1)))  # block 3 gone; block 2 edited (10.1.1.1's weight)
    assert sorted(lb.health) == [("TCP 192.0.2.2:80", ("10.1.1.1", 80)), ("TCP 192.0.2.2:80", ("10.1.1.2", 80))]
    assert "TCP 192.0.2.3:80" not in lb.quorum
    same_as_full(lb)


def test_a_reload_of_one_block_diffs_and_reads_that_service_only(tmp_path: Path, kernel) -> None:
    k, child = kernel(), Decoder()
    lb = LoadBalancer(as_child(child, text(5)), k.backend, tmp_path)
    lb.start()
    asked = []
    real = lb.backend.dump
    lb.backend.dump = lambda counts=True, servers=None, keys=None: asked.append(keys) or real(counts, servers, keys)
    lb.reload(as_child(child, text(5, bump=2)))
    assert [sorted(map(str, keys)) for keys in asked] == [["TCP 192.0.2.2:80"]]
