"""global_defs lvs_timeouts and lvs_flush_on_stop in a real IPVS kernel (UML guest; the host kernel
has no IPVS): one guest boot runs keywords_guest.py; each test asserts one check it recorded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CHECKS = [
    "kernel_reports_timeouts", "kernel_read_over_netlink", "set_over_netlink", "all_three_set", "unset_ones_are_the_kernel_s_first",
    "dropped_restores_the_kernel_s", "lbloop_start_sets_them", "reload_without_them_restores",
    "stop_default", "stop_lvs_flush_on_stop_VS", "stop_lvs_flush_on_stop", "guest_ran_to_end",
]


@pytest.fixture(scope="module")
def guest(uml):
    return uml([sys.executable, str(HERE / "keywords_guest.py")], timeout=150)


@pytest.mark.parametrize("name", CHECKS)
def test_in_ipvs_kernel(guest, name: str) -> None:
    guest.assert_check("keywords-checks.json", name)
