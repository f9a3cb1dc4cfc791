"""lvs_sync_daemon (net/ipvs_syncd.py) between two real pykeepalived balancers in a real IPVS kernel (UML).

One guest boot runs syncd_guest.py against topology.yml; each test asserts one check it recorded
from the kernels (`ipvsadm -L --daemon`, `ipvsadm -Lnc`) and from a client's open connection; a control run without lvs_sync_daemon shows the same failover
breaking the connection.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CHECKS = [
    "lb1_master_and_both_program_ipvs", "lb1_master_daemon_lb2_backup_daemon", "syncid_is_the_vrid",
    "stream_through_lb1", "backup_table_has_the_synced_entry", "lb2_takes_the_vips",
    "lb2_switches_to_the_master_daemon", "entry_still_on_lb2_after_failover",
    "connection_survives_the_failover", "stop_leaves_no_sync_daemon",
    "control_without_sync_the_connection_breaks", "guest_ran_to_end",
]


@pytest.fixture(scope="module")
def guest(uml):
    return uml([sys.executable, str(HERE / "syncd_guest.py")], topology=HERE / "topology.yml", timeout=240)


@pytest.mark.parametrize("name", CHECKS)
def test_sync_daemon_in_ipvs_kernel(guest, name: str) -> None:
    guest.assert_check("syncd-checks.json", name)
