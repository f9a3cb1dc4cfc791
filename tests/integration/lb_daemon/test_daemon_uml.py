"""The real pykeepalived daemon (-C: checkers + IPVS) in a real IPVS kernel (UML guest).

One guest boot runs daemon_guest.py against topology.yml; each test below
asserts one check it recorded from the kernel's tables (`ipvsadm -Ln`) and
from which web server answered the client. Measured times (failure
detection, recovery, wait-drain) are printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CHECKS = [
    "daemon_programs_ipvs", "nat_rr_balances", "dr_rr_balances",
    "killed_rs_leaves_nat_in_time", "killed_rs_leaves_dr", "inhibit_keeps_weight_zero",
    "killed_rs_gets_no_traffic", "inhibited_rs_gets_no_traffic",
    "restarted_rs_returns_in_time", "inhibited_rs_weight_restored", "restarted_rs_gets_traffic",
    "sorry_server_takes_over", "quorum_down_fired_once", "sorry_server_leaves_on_recovery",
    "quorum_up_fired_once",
    "drain_sets_kernel_weight_zero_at_once", "drained_rs_gets_no_new_connections",
    "established_connection_survives_drain", "wait_drain_returns_when_it_closes",
    "undrain_restores", "undrained_rs_gets_traffic",
    "sigterm_clears_daemon_services", "guest_ran_to_end",
]


@pytest.fixture(scope="module")
def guest(uml):
    result = uml([sys.executable, str(HERE / "daemon_guest.py")], topology=HERE / "topology.yml", timeout=150)
    print("daemon-in-UML times:", result.files.get("lbd-times.json", "{}"))
    return result


@pytest.mark.parametrize("name", CHECKS)
def test_daemon_in_ipvs_kernel(guest, name: str) -> None:
    guest.assert_check("lbd-checks.json", name)
