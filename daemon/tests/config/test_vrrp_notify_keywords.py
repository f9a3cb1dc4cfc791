"""notify_deleted [SCRIPT], notify_master_rx_lower_pri SCRIPT, log_unknown_vrids: parsed with located
errors; the state machine counts the lower-priority adverts a master hears (the event's trigger)."""
from __future__ import annotations

from ipaddress import IPv4Address

from pykeepalived.config.loader import loads_config
from pykeepalived.services.notify import SCRIPT_FOR_STATE
from pykeepalived.vrrp.fsm import VrrpRouter
from pykeepalived.vrrp.packet import Advertisement
from pykeepalived.vrrp.router_config import RouterConfig

VIPS = (IPv4Address("192.0.2.100"),)


def inst(body: str) -> str:
    return "vrrp_instance VI {\n    interface eth0\n    virtual_router_id 51\n" + body + "}\n"


def test_notify_deleted_bare_or_with_a_script() -> None:
    config, diags = loads_config(inst("    notify_deleted\n"), "k.conf")
    vi = config.vrrp_instances["VI"]
    assert not diags.errors and vi.notify_deleted and vi.notify.notify_deleted is None
    config, diags = loads_config(inst('    notify_deleted "/bin/echo gone" nobody\n'), "k.conf")
    vi = config.vrrp_instances["VI"]
    assert vi.notify_deleted and vi.notify.notify_deleted.argv == ("/bin/echo", "gone")
    assert vi.notify.notify_deleted.user == "nobody"
    assert SCRIPT_FOR_STATE["DELETED"] == "notify_deleted"
    assert not loads_config(inst(""), "k.conf")[0].vrrp_instances["VI"].notify_deleted


def test_notify_master_rx_lower_pri_needs_a_command() -> None:
    config, _diags = loads_config(inst("    notify_master_rx_lower_pri /bin/true\n"), "k.conf")
    assert config.vrrp_instances["VI"].notify_master_rx_lower_pri.argv == ("/bin/true",)
    errors = [str(e) for e in loads_config(inst("    notify_master_rx_lower_pri\n"), "k.conf")[1].errors]
    assert len(errors) == 1 and errors[0].startswith("k.conf:4:5: error: ")


def test_log_unknown_vrids_is_a_flag() -> None:
    config, diags = loads_config("global_defs {\n    log_unknown_vrids\n}\n", "k.conf")
    assert not diags.errors and config.global_defs.log_unknown_vrids
    errors = [str(e) for e in loads_config("global_defs {\n    log_unknown_vrids on\n}\n", "k.conf")[1].errors]
    assert errors and errors[0].startswith("k.conf:2:")


def test_a_master_counts_each_lower_priority_advert_only() -> None:
    me, peer = IPv4Address("192.0.2.1"), IPv4Address("192.0.2.2")
    r = VrrpRouter(RouterConfig(vrid=51, priority=255, address=me, virtual_addresses=VIPS))
    r.start(0.0)

    def heard(priority: int, at: float) -> None:
        r.receive(Advertisement(2, 51, priority, 1, VIPS, auth_data=bytes(8)), peer, at)

    heard(100, 1.0)
    heard(100, 2.0)
    heard(0, 3.0)  # a leaving master: not a lower priority
    assert r.counters.lower_priority_received == 2
    backup = VrrpRouter(RouterConfig(vrid=51, priority=100, address=me, virtual_addresses=VIPS))
    backup.start(0.0)
    backup.receive(Advertisement(2, 51, 50, 1, VIPS, auth_data=bytes(8)), peer, 1.0)
    assert backup.counters.lower_priority_received == 0  # a backup's lower priority is not the event
