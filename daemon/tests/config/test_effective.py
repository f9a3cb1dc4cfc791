"""keepalived's strict-mode, VRRPv3-auth and Accept_Mode overrides (config/effective.py), as -t shows them."""
from __future__ import annotations

import textwrap
from ipaddress import IPv4Address

from pykeepalived.config.effective import accept_mode, effective_instance
from pykeepalived.config.loader import loads_config
from pykeepalived.vrrp import AuthType, State
from pykeepalived.vrrp.from_config import router_config
from pykeepalived.vrrp.manager import blocked_vips

# keepalived's sample keepalived.conf as distributions install it (VRRP part)
SAMPLE = """\
global_defs {
   router_id LVS_DEVEL
   vrrp_skip_check_adv_addr
   vrrp_strict
   vrrp_garp_interval 0
   vrrp_gna_interval 0
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        192.168.200.16
        192.168.200.17
        192.168.200.18
    }
}
"""


def load(text: str):
    config, diags = loads_config(textwrap.dedent(text), "k.conf")
    assert not diags.errors, [d.message for d in diags.errors]
    warnings = [f"{d.location.line}:{d.location.col}: {d.message}" for d in diags.sorted() if d.severity == "warning"]
    return config, warnings


def test_distribution_sample_runs_as_keepalived_runs_it() -> None:
    config, warnings = load(SAMPLE)
    assert warnings == ["10:5: strict mode: state follows ownership, starting as BACKUP",
                        "15:5: strict mode has no authentication: ignored (as keepalived)"]
    inst = config.vrrp_instances["VI_1"]
    rc = router_config(inst, config, IPv4Address("192.0.2.11"))
    assert rc.auth_type is AuthType.NONE and rc.auth_pass == b""
    assert rc.initial_state is State.BACKUP
    assert rc.lower_prio_no_advert is True and rc.higher_prio_send_advert is False
    assert rc.lower_prio_repeat == 0 and rc.lower_prio_delay == 0
    assert not accept_mode(inst, config)  # keepalived installs its drop rules for these VIPs
    assert blocked_vips(config) == {IPv4Address(f"192.168.200.{n}") for n in (16, 17, 18)}


def instance(extra: str, priority: int = 100, globals_: str = "") -> str:
    return (f"global_defs {{\n{globals_}}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 5\n"
            f"    priority {priority}\n    virtual_ipaddress {{\n        192.0.2.5\n    }}\n{extra}}}\n")


def test_v3_authentication_is_ignored_with_a_warning() -> None:
    config, warnings = load(instance("    version 3\n    authentication {\n        auth_type PASS\n"
                                     "        auth_pass x\n    }\n"))
    assert warnings == ["11:5: VRRPv3 has no authentication (RFC 5798 9): ignored (as keepalived)"]
    assert router_config(config.vrrp_instances["VI_1"], config, IPv4Address("192.0.2.11")).auth_type is AuthType.NONE


def test_strict_resets_what_the_rfcs_forbid() -> None:
    config, warnings = load(instance("    state BACKUP\n    preempt_delay 5\n    garp_lower_prio_repeat 3\n"
                                     "    lower_prio_no_advert off\n    higher_prio_send_advert\n    accept\n",
                                     priority=255, globals_="    vrrp_strict\n"))
    assert [w.split(": ", 1)[1] for w in warnings] == [
        "priority 255 (address owner) always starts as MASTER",
        "strict mode: state follows ownership, starting as MASTER",
        "strict mode: preempt_delay is reset to 0",
        "strict mode: garp_lower_prio_repeat is reset to 0",
        "strict mode: a master does not answer lower-priority adverts",
        "strict mode: higher_prio_send_advert is reset",
    ]
    inst = config.vrrp_instances["VI_1"]
    assert accept_mode(inst, config)  # the owner accepts; "accept" at 255 with v2 is kept
    assert effective_instance(inst, config).instance.preempt_delay == 0


def test_strict_v2_accept_becomes_no_accept_and_v3_keeps_it() -> None:
    v2, warnings = load(instance("    accept\n", globals_="    vrrp_strict\n"))
    assert [w.split(": ", 1)[1] for w in warnings] == ["strict mode: VRRPv2 (RFC 3768) has no Accept_Mode: no_accept"]
    assert not accept_mode(v2.vrrp_instances["VI_1"], v2)
    v3, warnings = load(instance("    accept\n    version 3\n", globals_="    vrrp_strict\n"))
    assert warnings == [] and accept_mode(v3.vrrp_instances["VI_1"], v3)


def test_accept_defaults_and_per_instance_strict_mode() -> None:
    plain, _ = load(instance(""))
    assert accept_mode(plain.vrrp_instances["VI_1"], plain) and blocked_vips(plain) == set()
    explicit, _ = load(instance("    no_accept\n"))
    assert not accept_mode(explicit.vrrp_instances["VI_1"], explicit)
    local, _ = load(instance("    strict_mode\n"))
    assert not accept_mode(local.vrrp_instances["VI_1"], local)
    off, _ = load(instance("    strict_mode off\n", globals_="    vrrp_strict\n"))
    assert accept_mode(off.vrrp_instances["VI_1"], off)


def test_global_lower_prio_settings_reach_the_state_machine() -> None:
    config, _ = load(instance("    garp_lower_prio_repeat 2\n", globals_="    vrrp_garp_lower_prio_delay 7\n"
                              "    vrrp_lower_prio_no_advert\n    vrrp_higher_prio_send_advert on\n"))
    rc = router_config(config.vrrp_instances["VI_1"], config, IPv4Address("192.0.2.11"))
    assert (rc.lower_prio_repeat, rc.lower_prio_delay) == (2, 7)
    assert rc.lower_prio_no_advert and rc.higher_prio_send_advert


def test_strict_unicast_is_still_an_error() -> None:
    config, diags = loads_config(instance("    unicast_peer {\n        192.0.2.12\n    }\n",
                                          globals_="    vrrp_strict\n"), "k.conf")
    assert [d.message for d in diags.errors] == ["strict mode (vrrp_strict) forbids unicast_peer"]


def test_obsolete_nat_mask_is_a_warning_not_an_error() -> None:
    text = ("virtual_server 192.0.2.80 80 {\n    lb_algo rr\n    lb_kind NAT\n    nat_mask 255.255.255.0\n"
            "    protocol TCP\n    real_server 198.51.100.1 80 {\n        weight 1\n    }\n}\n")
    config, warnings = load(text)
    assert warnings == ["4:5: nat_mask is obsolete (the reverse-NAT mask of Linux 2.2's IPVS): "
                        "ignored, as keepalived 2 ignores it"]
    assert len(config.virtual_servers) == 1


def test_no_accept_without_nft_is_a_warning(monkeypatch) -> None:
    import shutil

    from pykeepalived.config import validate

    real = shutil.which
    monkeypatch.setattr(validate.shutil, "which", lambda name, *a, **k: None if name == "nft" else real(name, *a, **k))
    _, warnings = load(instance("    no_accept\n"))
    assert warnings == ["10:5: Accept_Mode is off (no_accept / strict mode) but nft(8) is not installed: "
                        "traffic to the VIPs will not be dropped"]
