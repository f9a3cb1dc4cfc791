"""global_defs lvs_flush_on_stop (keepalived 2.2): bare, the stop flushes the whole table, other
services too; ``VS`` and the default remove our services only (each with its real servers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.lb.plane import LoadBalancer
from pykeepalived.lb.table import Dest, ServiceKey, ServiceSpec, make_table, service

from .helpers import conf

VS = "virtual_server 192.0.2.1 80 { protocol TCP lb_algo rr\n  real_server 10.1.0.1 80 { } }\n"
OURS = ServiceKey.ip("TCP", "192.0.2.1", 80)
FOREIGN = ServiceKey.ip("TCP", "203.0.113.9", 80)


@pytest.mark.parametrize(("setting", "left"), [("", {FOREIGN}), ("lvs_flush_on_stop VS", {FOREIGN}),
                                               ("lvs_flush_on_stop", set()), ("lvs_flush_onstop", set())])
def test_what_the_stop_leaves(tmp_path: Path, kernel, setting: str, left: set) -> None:
    k = kernel(make_table(service(ServiceSpec(FOREIGN, "wlc"), Dest("10.2.0.1", 80))))
    lb = LoadBalancer(conf(f"global_defs {{\n {setting}\n}}\n" + VS), k.backend, tmp_path)
    assert not lb.start().errors
    assert set(k.view()) == {OURS, FOREIGN}
    assert not lb.stop().errors
    # the nftables plane's table holds only ours: a full flush there is ours only
    assert set(k.view()) == (left if not k.owns_table else {FOREIGN})


def test_without_a_virtual_server_nothing_is_flushed(tmp_path: Path, kernel) -> None:
    k = kernel(make_table(service(ServiceSpec(FOREIGN, "wlc"))))  # keepalived flushes only with services of its own
    lb = LoadBalancer(conf("global_defs {\n lvs_flush_on_stop\n}\n"), k.backend, tmp_path)
    lb.start()
    lb.stop()
    assert set(k.view()) == {FOREIGN}


def test_only_vs_is_an_option() -> None:
    _, diags = loads_config("global_defs {\n    lvs_flush_on_stop vs\n}\n", "k.conf")
    assert [str(e) for e in diags.errors] == ["k.conf:2:23: error: lvs_flush_on_stop: takes nothing or 'VS', got 'vs'"]
