"""Sync group, notify scripts, notify fifo and smtp_alert between two pykeepalived hosts (lab "five").

* vrrp_sync_group VG of two VRIDs: lb1's VI_B loses a tracked link, so VI_B
  goes FAULT and the group takes VI_A along; lb2's group takes both VIPs and
  gives them back when the link returns (keepalived vrrp_sync.c rules).
* the group's ``notify`` gets ``GROUP VG STATE 0``; vrrp_notify_fifo carries
  ``INSTANCE "VI_A" MASTER 150`` / ``GROUP "VG" FAULT 0`` lines, read by
  notify_fifo_script; smtp_alert mails reach aiosmtpd on the client.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .vrrp_cases import global_defs, instance, stop_all, vips, wait_vips
from .vrrp_hosts import Daemon, wait_for

LAB_TOPOLOGY = "five"
VIP_A, VIP_B = "192.0.2.220", "192.0.2.221"
D = "/etc/hk-vrrp-sync"  # inside each host's private overlay
NOTIFY = f'#!/bin/sh\necho "$@" >> {D}/notify.log\n'
FIFO_READER = f'#!/bin/sh\nexec cat "$1" >> {D}/fifo.log\n'
SMTP_PORT = 2525


def sync_config(priority: int, extra_b: str = "", globals_extra: str = "") -> str:
    group = f"""vrrp_sync_group VG {{
    group {{
        VI_A
        VI_B
    }}
    notify {D}/notify.sh
}}
"""
    notify = f"    notify {D}/notify.sh\n"
    return (global_defs(extra=globals_extra) + group
            + instance("VI_A", 90, priority, f"{VIP_A}/24", extra=notify)
            + instance("VI_B", 91, priority, f"{VIP_B}/24", extra=notify + extra_b))


def read(lab, host: str, name: str) -> list[str]:
    return lab.exec(host, ["cat", f"{D}/{name}"], check=False).stdout.splitlines()


@pytest.fixture
def hosts(lab):
    for host in ("lb1", "lb2"):
        lab.exec(host, ["mkdir", "-p", D])
        for name, text in (("notify.sh", NOTIFY), ("fifo.sh", FIFO_READER)):
            lab.exec(host, ["tee", f"{D}/{name}"], input=text)
            lab.exec(host, ["chmod", "755", f"{D}/{name}"])
    yield
    for host in ("lb1", "lb2"):
        assert not (vips(lab, host) & {VIP_A, VIP_B}), f"a VIP was left on {host}"
        lab.exec(host, ["rm", "-rf", D])


def test_sync_group_moves_together_with_group_notify_and_fifo(lab, hosts, tmp_path: Path) -> None:
    lab.exec("lb1", ["ip", "link", "add", "trk0", "type", "veth", "peer", "name", "trk0p"])
    lab.exec("lb1", ["ip", "link", "set", "trk0p", "up"])
    lab.exec("lb1", ["ip", "link", "set", "trk0", "up"])
    fifo = f"    vrrp_notify_fifo {D}/vrrp.fifo\n    notify_fifo {D}/all.fifo\n    notify_fifo_script {D}/fifo.sh\n"
    m = Daemon(lab, "lb1", "pykeepalived", "sg-m",
               sync_config(150, "    track_interface {\n        trk0\n    }\n", fifo))
    b = Daemon(lab, "lb2", "pykeepalived", "sg-b", sync_config(100))
    try:
        b.start(tmp_path)
        m.start(tmp_path)
        wait_vips(lab, "lb1", {VIP_A, VIP_B}, 3)
        lab.exec("lb1", ["ip", "link", "set", "trk0", "down"])  # only VI_B tracks it
        wait_vips(lab, "lb2", {VIP_A, VIP_B}, 3)
        wait_vips(lab, "lb1", {VIP_A, VIP_B}, 2, absent=True)
        lab.exec("lb1", ["ip", "link", "set", "trk0", "up"])
        wait_vips(lab, "lb1", {VIP_A, VIP_B}, 3)
        wait_vips(lab, "lb2", {VIP_A, VIP_B}, 2, absent=True)
    finally:
        stop_all(m, b)
        lab.exec("lb1", ["ip", "link", "del", "trk0"], check=False)
    notes = read(lab, "lb1", "notify.log")
    for line in ("GROUP VG MASTER 0", "GROUP VG FAULT 0", "INSTANCE VI_A FAULT 150", "INSTANCE VI_B FAULT 150",
                 "INSTANCE VI_A STOP 150"):
        assert line in notes, (line, notes)
    assert notes.index("GROUP VG FAULT 0") > notes.index("GROUP VG MASTER 0")
    assert "GROUP VG MASTER 0" in read(lab, "lb2", "notify.log")
    # notify_fifo_script reads the all-events fifo; both fifos get the same lines
    wait_for(lambda: 'INSTANCE "VI_A" STOP 150' in read(lab, "lb1", "fifo.log"), 3, "no STOP line in the fifo")
    lines = read(lab, "lb1", "fifo.log")
    for line in ('INSTANCE "VI_A" BACKUP 150', 'INSTANCE "VI_B" MASTER 150', 'GROUP "VG" FAULT 0',
                 'INSTANCE "VI_B" FAULT 150', 'GROUP "VG" MASTER 0'):
        assert line in lines, (line, lines)
    assert lab.exec("lb1", ["test", "-e", f"{D}/vrrp.fifo"], check=False).returncode != 0, "fifo left behind"


def test_smtp_alert_reaches_a_real_smtp_server(lab, hosts, tmp_path: Path) -> None:
    out = tmp_path / "smtpd.out"
    pidfile = "/run/hk-vrrp-smtpd.pid"
    server = [sys.executable, "-u", "-m", "aiosmtpd", "-n", "-l", f"192.0.2.100:{SMTP_PORT}",
              "-c", "aiosmtpd.handlers.Debugging", "stdout"]
    with out.open("wb") as f:
        lab.popen("client", ["sh", "-c", f'echo $$ > {pidfile}; exec "$@"', "sh", *server], stdout=f, stderr=f)
    smtp = (f"    smtp_server 192.0.2.100 {SMTP_PORT}\n    smtp_connect_timeout 5\n    router_id lb1\n"
            "    notification_email {\n        ops@example.org\n    }\n"
            "    notification_email_from lb1@example.org\n    smtp_helo_name lb1.example.org\n")
    alert = "    smtp_alert\n"
    m = Daemon(lab, "lb1", "pykeepalived", "sm-m", global_defs(extra=smtp)
               + instance("VI_A", 92, 150, f"{VIP_A}/24", extra=alert))
    try:
        wait_for(lambda: lab.exec("client", ["ss", "-ltn", f"sport = :{SMTP_PORT}"]).stdout.count("LISTEN") > 0,
                 10, "aiosmtpd did not listen")
        m.start(tmp_path)
        wait_vips(lab, "lb1", {VIP_A}, 3)
        wait_for(lambda: "Entering MASTER state" in out.read_text(errors="replace"), 5, "no alert mail")
    finally:
        stop_all(m)
        pid = lab.exec("client", ["cat", pidfile], check=False).stdout.strip()
        if pid:
            lab.exec("client", ["kill", pid], check=False)
            lab.exec("client", ["rm", "-f", pidfile], check=False)
    text = out.read_text(errors="replace")
    assert "Subject: [lb1] VRRP Instance VI_A - Entering MASTER state" in text
    assert "=> VRRP Instance is now owning VRRP VIPs <=" in text
    assert "ops@example.org" in text and "lb1@example.org" in text
