"""use_vmac / vmac_xmit_base / vmac_prefix: parsed as keepalived 2.2.7 reads them, mapped to the VMAC and VIP placement."""
from __future__ import annotations

import textwrap

from pykeepalived.config.loader import loads_config
from pykeepalived.config.model_vrrp import UseVmac
from pykeepalived.vrrp.instance import vip_specs
from pykeepalived.vrrp.routing import sends_from_base, vmac_spec


def load(body: str, global_defs: str = ""):
    text = f"global_defs {{\n{global_defs}}}\n" if global_defs else ""
    text += ("vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n"
             "    virtual_ipaddress {\n        192.0.2.10/24\n        192.0.2.11/24 dev eth1\n    }\n"
             "    virtual_ipaddress_excluded {\n        2001:db8::1\n    }\n"
             + body + "}\n")
    config, diags = loads_config(textwrap.dedent(text), "t.conf")
    assert not [d for d in diags.sorted() if d.severity == "error"], diags.sorted()
    return config, config.vrrp_instances["VI_1"], [f"{d.location.line}:{d.location.col}: {d.message}"
                                                    for d in diags.sorted() if d.severity == "warning"]


def test_default_name_and_mac() -> None:
    config, inst, _ = load("    use_vmac\n")
    assert inst.use_vmac == UseVmac()
    spec = vmac_spec(inst, config)
    assert (spec.name, spec.base, spec.mac.hex(":"), spec.family) == ("vrrp.51", "eth0", "00:00:5e:00:01:33", 4)
    assert not sends_from_base(inst, config)


def test_name_mac_and_prefix() -> None:
    config, inst, _ = load("    use_vmac 02:11:22:33:44: vm51\n")
    spec = vmac_spec(inst, config)
    assert (spec.name, spec.mac.hex(":")) == ("vm51", "02:11:22:33:44:33")  # five octets: the VRID completes it
    config, inst, _ = load("    use_vmac\n", global_defs="    vmac_prefix vr\n    vmac_addr_prefix va\n")
    assert vmac_spec(inst, config).name == "vr.51"
    assert config.global_defs.vmac_addr_prefix == "va"


def test_vips_of_the_family_go_on_the_vmac() -> None:
    config, inst, _ = load("    use_vmac\n")
    placed = [(str(v.address), v.dev) for v in vip_specs(inst, vmac_spec(inst, config).name)]
    # eth1's VIP stays there; the excluded address of the other family stays on eth0 (keepalived's rule)
    assert placed == [("192.0.2.10/24", "vrrp.51"), ("192.0.2.11/24", "eth1"), ("2001:db8::1/128", "eth0")]
    config, inst, _ = load("")
    assert vmac_spec(inst, config) is None
    assert [v.dev for v in vip_specs(inst)] == ["eth0", "eth1", "eth0"]


def test_unicast_forces_xmit_base_with_a_warning_and_strict_ignores_it() -> None:
    config, inst, warnings = load("    use_vmac\n    unicast_peer {\n        192.0.2.2\n    }\n")
    assert inst.vmac_xmit_base and sends_from_base(inst, config)
    assert any(w.startswith("11:5:") and "vmac_xmit_base set" in w for w in warnings), warnings
    config, inst, _ = load("    use_vmac\n    vmac_xmit_base\n", global_defs="    vrrp_strict\n")
    assert inst.vmac_xmit_base and not sends_from_base(inst, config)
