"""pykeepalived's IPVS plane in a real IPVS kernel (UML guest; the host kernel has no IPVS).

One guest boot runs ipvs_guest.py against the lb-topology.yml lab; each test
below asserts one of the checks it recorded from the kernel's tables
(`ipvsadm -Ln`, pyroute2) and from which web server answered.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CHECKS = [
    "start_programs_nat_rr", "rr_balances_evenly", "second_reconcile_is_noop",
    "reload_to_wrr_is_sets_only", "wrr_follows_weights", "down_server_leaves_table",
    "down_server_gets_no_traffic", "inhibit_keeps_weight_zero", "inhibited_server_gets_no_traffic",
    "sorry_server_takes_over", "quorum_down_event", "sorry_server_leaves_on_recovery", "quorum_up_event",
    "dr_programs_route", "dr_carries_traffic", "pyroute2_dump_reads_dr_raw", "tun_options_in_kernel",
    "tun_second_reconcile_is_noop", "service_flags_in_kernel", "persistence_engine_in_kernel", "flags_second_reconcile_is_noop", "status_has_kernel_counters",
    "owned_record", "dump_by_keys_reads_those_only", "restart_adopts_without_ops", "stop_clears_only_ours", "guest_ran_to_end",
]


@pytest.fixture(scope="module")
def guest(uml):
    return uml([sys.executable, str(HERE / "ipvs_guest.py")], topology=HERE / "lb-topology.yml", timeout=150)


@pytest.mark.parametrize("name", CHECKS)
def test_in_ipvs_kernel(guest, name: str) -> None:
    guest.assert_check("lb-checks.json", name)
