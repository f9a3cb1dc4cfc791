"""vrrp_instance ``skip_check_adv_addr`` [on|off]: the instance's own say over global_defs'
``vrrp_skip_check_adv_addr`` (keepalived sets each new instance from the global, then the
instance keyword), down to whether an advert carrying other addresses is dropped."""
from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.vrrp.from_config import router_config
from pykeepalived.vrrp.packet import Advertisement, DropReason
from pykeepalived.vrrp.validate import check_advert


def conf(global_line: str, instance_line: str) -> str:
    return (f"global_defs {{\n{global_line}}}\nvrrp_instance VI_1 {{\n    interface eth0\n"
            f"    virtual_router_id 51\n{instance_line}    advert_int 1\n"
            "    virtual_ipaddress {\n        192.0.2.100/24\n    }\n}\n")


@pytest.mark.parametrize(("global_line", "instance_line", "checked"), [
    ("", "", True),
    ("    vrrp_skip_check_adv_addr\n", "", False),
    ("", "    skip_check_adv_addr\n", False),
    ("", "    skip_check_adv_addr on\n", False),
    ("    vrrp_skip_check_adv_addr\n", "    skip_check_adv_addr off\n", True),
])
def test_the_instance_keyword_wins_and_decides_the_address_check(global_line, instance_line, checked) -> None:
    config, diags = loads_config(conf(global_line, instance_line), "k.conf")
    assert not diags.errors, [str(e) for e in diags.errors]
    cfg = router_config(config.vrrp_instances["VI_1"], config, IPv4Address("192.0.2.11"))
    assert cfg.check_addresses is checked
    other = Advertisement(version=2, vrid=51, priority=100, advert_interval=1,
                          addresses=(IPv4Address("192.0.2.200"),), auth_type=cfg.auth_type, auth_data=b"")
    got = check_advert(cfg, other, IPv4Address("192.0.2.12"), cfg.group)
    assert got is (DropReason.ADDRESS_LIST if checked else None)


def test_a_bad_value_says_where() -> None:
    _config, diags = loads_config(conf("", "    skip_check_adv_addr maybe\n"), "k.conf")
    assert [str(e) for e in diags.errors] == [
        "k.conf:6:25: error: skip_check_adv_addr: expected on|off|true|false|yes|no, got 'maybe'"]
