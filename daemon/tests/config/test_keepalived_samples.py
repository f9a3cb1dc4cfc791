"""keepalived's own sample configs (Debian's keepalived package, not in this repository).

Those using only features we implement must pass ``-t``; the others must be
refused for the feature we lack, named as such, not for a parser mistake.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.config.loader import load_config

SAMPLES = Path("/usr/share/doc/keepalived/samples")
PASS = {"HTTP_GET.port", "IPv6", "PING_CHECK", "fwmark", "inhibit", "misc_check", "misc_check_arg", "quorum",
        "sample", "status_code", "virtual_server_group", "virtualhost", "vrrp", "vrrp.scripts", "vrrp.sync"}
# sample -> a phrase every error of it must contain (one of)
REFUSED = {
    "SMTP_CHECK": ("keyword 'host' is not supported",),
    "SSL_GET": ("auth_type AH is not supported",),
    "UDP_CHECK": ("'UDP_CHECK' is not supported",),
    "conditional_conf": ("conditional configuration lines (@ID) are not supported", "missing required 'script'",
                         "'use_vmac' is not supported"),
    "track_interface": ("'static_routes' is not supported", "'virtual_routes' is not supported"),
    "vrrp.localcheck": ("uses shell syntax",),
    "vrrp.routes": ("'static_routes' is not supported", "'virtual_routes' is not supported"),
    "vrrp.rules": ("'static_rules' is not supported", "'virtual_rules' is not supported"),
    "vrrp.static_ipaddress": ("'static_ipaddress' is not supported", "'virtual_routes' is not supported"),
    # keepalived 1.x syntax: sync group members without `group { }`
    "vrrp.lvs_syncd": ("missing required 'group'", "unknown keyword 'VI_", "'lvs_sync_daemon_interface' is not supported"),
}

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="Debian's keepalived package is not installed")


@pytest.mark.parametrize("name", sorted(PASS))
def test_sample_passes(name: str) -> None:
    config, diags = load_config(str(SAMPLES / f"keepalived.conf.{name}"))
    assert not diags.errors, [str(d) for d in diags.errors]
    assert config.vrrp_instances or config.virtual_servers


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_sample_refused_for_an_unsupported_feature(name: str) -> None:
    _, diags = load_config(str(SAMPLES / f"keepalived.conf.{name}"))
    assert diags.errors
    for err in diags.errors:
        assert any(p in err.message for p in REFUSED[name]), str(err)


def test_every_sample_is_classified() -> None:
    names = {p.name.removeprefix("keepalived.conf.") for p in SAMPLES.glob("keepalived.conf.*")}
    assert names <= PASS | set(REFUSED), names - PASS - set(REFUSED)
