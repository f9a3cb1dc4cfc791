"""pykeepalived under systemd in a lab host (issue 6): the shipped unit (`--print-unit`) with
Type=notify starts, STATUS= shows in `systemctl status`, `systemctl reload` is a HUP, and a
frozen daemon (SIGSTOP) is restarted by the watchdog (WatchdogSec=2s in the test)."""
from __future__ import annotations

import re
import subprocess

from vrrp.vrrp_hosts import conf, wait_for, wait_vip

from .ops_hosts import PYKEEPALIVED

LAB_TOPOLOGY = "five"
VIP = "192.0.2.203"
UNIT = "pykeepalived.service"


def show(lab, prop: str) -> str:
    return lab.exec("lb2", ["systemctl", "show", "-P", prop, UNIT]).stdout.strip()


def test_notify_status_reload_watchdog(lab) -> None:
    unit = subprocess.run([PYKEEPALIVED, "--print-unit"], check=True, capture_output=True, text=True).stdout
    assert "Type=notify" in unit and "ExecReload=/bin/kill -HUP $MAINPID" in unit
    unit = re.sub(r"WatchdogSec=\S+", "WatchdogSec=2s", unit)
    lab.exec("lb2", ["mkdir", "-p", "/etc/pykeepalived"])
    lab.exec("lb2", ["tee", "/etc/pykeepalived/keepalived.conf"], input=conf(63, 150, VIP, state="MASTER"))
    lab.exec("lb2", ["tee", f"/etc/systemd/system/{UNIT}"], input=unit)
    lab.exec("lb2", ["systemctl", "daemon-reload"])
    try:
        lab.exec("lb2", ["systemctl", "start", UNIT], timeout=60)  # returns after READY=1
        assert show(lab, "ActiveState") == "active"
        wait_vip(lab, "lb2", VIP, 5)
        wait_for(lambda: "VI_63 MASTER" in show(lab, "StatusText"), 5, "no STATUS= with VI_63 MASTER")
        status = lab.exec("lb2", ["systemctl", "status", "--no-pager", UNIT], check=False).stdout
        assert 'Status: "VI_63 MASTER' in status, status

        pid = show(lab, "MainPID")
        lab.exec("lb2", ["systemctl", "reload", UNIT])
        wait_for(lambda: "reload done" in lab.exec("lb2", ["journalctl", "-u", UNIT, "--no-pager"]).stdout, 10,
                 "systemctl reload did not reach the daemon")
        assert show(lab, "MainPID") == pid and show(lab, "NRestarts") == "0"

        lab.exec("lb2", ["kill", "-STOP", pid])  # a frozen loop: no more WATCHDOG=1
        wait_for(lambda: show(lab, "NRestarts") == "1" and show(lab, "ActiveState") == "active"
                 and show(lab, "MainPID") not in ("0", pid), 20, "the watchdog did not restart the daemon")
        journal = lab.exec("lb2", ["journalctl", "-u", UNIT, "--no-pager"]).stdout
        assert "Watchdog timeout" in journal, journal[-3000:]
        wait_for(lambda: "VI_63 MASTER" in show(lab, "StatusText"), 10, "restarted daemon not master")
    finally:
        lab.exec("lb2", ["systemctl", "stop", UNIT], check=False, timeout=60)
    assert show(lab, "ActiveState") == "inactive"
