"""vrrp_instance native_ipv6: an IPv6 instance (VRRPv3 to ff02::12) without IPv6 VIPs, as keepalived."""
from __future__ import annotations

import subprocess
from ipaddress import IPv6Address

from pykeepalived.config.loader import loads_config
from pykeepalived.vrrp.from_config import multicast_group, router_config

from .test_keepalived_samples import KEEPALIVED, can_run_keepalived

BARE = """vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    native_ipv6
}
"""


def test_no_vips_and_native_ipv6_is_an_ipv6_v3_instance() -> None:
    config, diags = loads_config(BARE, "k.conf")
    assert not diags.errors
    inst = config.vrrp_instances["VI_1"]
    assert inst.family == 6
    cfg = router_config(inst, config, IPv6Address("fe80::1"))
    assert cfg.version == 3 and multicast_group(inst, config) == IPv6Address("ff02::12")
    plain, _ = loads_config(BARE.replace("    native_ipv6\n", ""), "k.conf")
    assert plain.vrrp_instances["VI_1"].family == 4


def test_with_ipv4_vips_it_is_an_error_at_the_keyword() -> None:
    text = BARE.replace("    native_ipv6\n", "    native_ipv6\n    virtual_ipaddress {\n        192.0.2.1/24\n    }\n")
    _config, diags = loads_config(text, "k.conf")
    assert [str(e) for e in diags.errors] == [
        "k.conf:4:5: error: native_ipv6 with IPv4 virtual_ipaddress (keepalived: 'Cannot specify native_ipv6 "
        "with IPv4 addresses')"]


def keepalived_t(tmp_path, text: str) -> subprocess.CompletedProcess:
    conf = tmp_path / "k.conf"
    conf.write_text(text)
    return subprocess.run(["unshare", "--net", "sh", "-c",
                           f'ip link add eth0 type veth peer name kspeer0 || exit 90; exec {KEEPALIVED} -t -l -n -f "$0"',
                           str(conf)], capture_output=True, text=True, timeout=60, check=False)


@can_run_keepalived
def test_keepalived_agrees_on_both_cases(tmp_path) -> None:
    vips = "    virtual_ipaddress {{\n        {}\n    }}\n"
    v6 = BARE.replace("    native_ipv6\n", "    native_ipv6\n" + vips.format("2001:db8::1/64"))
    v4 = BARE.replace("    native_ipv6\n", vips.format("192.0.2.1/24") + "    native_ipv6\n")
    assert keepalived_t(tmp_path, v6).returncode == 0 and not loads_config(v6)[1].errors
    proc = keepalived_t(tmp_path, v4)
    assert proc.returncode != 0 and "Cannot specify native_ipv6 with IPv4 addresses" in proc.stderr
    assert loads_config(v4)[1].errors
