"""The seed articles' configs: valid ones pass ``-t``, broken ones fail where they are broken.

Each ``seeds/NAME.conf`` has ``seeds/NAME.expected``: the exact diagnostics
``pykeepalived -t`` prints (minus "script not found" warnings, which depend
on the machine). ``*_raw.conf`` are seed 001's lines exactly as the page
collapsed them; ``*_oneline.conf`` drop only its comments and restore the
obfuscated e-mail addresses; ``*_restored.conf`` has the line breaks back.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from pykeepalived.cli import check_config
from pykeepalived.config.loader import load_config

SEEDS = Path(__file__).parent / "seeds"
ENVIRONMENT_WARNINGS = ("not found; it will fail", "is not executable")
VALID = {"002_global_defs", "002_virtual_server", "002_vrrp_instance", "002_vrrp_script",
         "004_nopreempt", "004_track_nginx", "001_haproxy_mb_raw", "001_haproxy_mm_raw", "001_lvs_dr_raw"}


def run_check(path: Path) -> tuple[int, list[str]]:
    err = io.StringIO()
    cwd = os.getcwd()
    os.chdir(path.parent)  # diagnostics name the file as given
    try:
        rc = check_config(path.name, out=io.StringIO(), err=err)
    finally:
        os.chdir(cwd)
    lines = [ln for ln in err.getvalue().splitlines() if not any(w in ln for w in ENVIRONMENT_WARNINGS)]
    return rc, lines


@pytest.mark.parametrize("conf", sorted(SEEDS.glob("*.conf")), ids=lambda p: p.stem)
def test_seed_diagnostics_match_expected(conf: Path) -> None:
    rc, lines = run_check(conf)
    expected = conf.with_suffix(".expected").read_text().splitlines()
    assert lines == expected
    assert (rc == 0) == (conf.stem in VALID)


def test_netify_backup_gets_a_suggestion() -> None:
    _, lines = run_check(SEEDS / "000_reference.conf")
    assert ("000_reference.conf:17:5: error: unknown keyword 'netify_backup' in vrrp_sync_group; "
            "did you mean 'notify_backup'?") in lines


def test_collapsed_line_builds_the_same_model_as_the_restored_file() -> None:
    one, d1 = load_config(str(SEEDS / "001_haproxy_mm_oneline.conf"))
    multi, d2 = load_config(str(SEEDS / "001_haproxy_mm_restored.conf"))
    assert one == multi
    assert [d.message for d in d1.items] == [d.message for d in d2.items]
    assert set(one.vrrp_instances) == {"VI_1", "VI_2"}
    vi2 = one.vrrp_instances["VI_2"]
    assert (vi2.state, vi2.priority, vi2.virtual_router_id) == ("BACKUP", 100, 52)
    assert str(vi2.virtual_ipaddress[0].address) == "172.16.100.2/16"
    assert vi2.virtual_ipaddress[0].label == "eth0:1"


def test_seed_002_virtual_server_model() -> None:
    config, diags = load_config(str(SEEDS / "002_virtual_server.conf"))
    assert not diags.errors
    (vs,) = config.virtual_servers
    assert (str(vs.ip), vs.port, vs.lvs_sched, vs.lvs_method, vs.persistence_timeout) == \
        ("192.168.2.155", 80, "wrr", "DR", 60)
    (rs,) = vs.real_servers
    (check,) = rs.checkers
    assert rs.weight == 100 and check.kind == "HTTP_GET"
    assert check.url[0].path == "/healthcheck" and check.url[0].status_code == ((200, 200),)
    assert (check.connect_timeout, check.retry, check.delay_before_retry) == (10, 3, 3)
