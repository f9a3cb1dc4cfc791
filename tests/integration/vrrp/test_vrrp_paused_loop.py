"""A backup whose event loop pauses longer than Master_Down_Interval does not take over (lab "five").

On a busy machine a VRRP process can be off the CPU for longer than Master_Down_Interval while
its master goes on advertising. When it runs again, every instance's Master_Down timer is due
and the master's adverts are queued in the kernel, each stamped with its receive time. The
timers must not win: an advert that arrived before the deadline resets the timer (RFC 5798
6.4.2). With 50 instances at 0.1 s (500 adverts a second on one socket, read 64 per wake-up)
the backup used to take over for the instances whose adverts were further down the queue (the
chaos soak saw 18 and 438 spurious takeovers); a due timer now reads the queue first
(vrrp/instance.py ``_on_timer``). The pause is a SIGSTOP of lb2's VRRP child, 1 s: 2.8 times
its Master_Down_Interval (0.36 s), while lb1 keeps advertising.
"""
from __future__ import annotations

import time
from pathlib import Path

from .vrrp_cases import dump, global_defs, instance, stop_all, vips, wait_vips
from .vrrp_hosts import Daemon

LAB_TOPOLOGY = "five"
INSTANCES = 50
ADVERT = 0.1
PAUSE = 1.0
PAUSES = 3


def config(priority: int) -> str:
    return global_defs() + "".join(instance(f"VI_{n}", 100 + n, priority, f"10.60.0.{n + 1}/32", advert=ADVERT)
                                   for n in range(INSTANCES))


def became_master(daemon: Daemon) -> int:
    return sum(i["counters"]["became_master"] for i in dump(daemon)["vrrp"]["instances"])


def test_a_paused_backup_reads_the_queued_adverts_before_its_timers(lab, tmp_path: Path) -> None:
    want = {f"10.60.0.{n + 1}" for n in range(INSTANCES)}
    lb1 = Daemon(lab, "lb1", "pykeepalived", "paused-lb1", config(200))
    lb2 = Daemon(lab, "lb2", "pykeepalived", "paused-lb2", config(100))
    try:
        lb2.start(tmp_path)
        lb1.start(tmp_path)
        wait_vips(lab, "lb1", want, 30)
        wait_vips(lab, "lb2", want, 30, absent=True)
        before = became_master(lb2)  # lb2 may have been master before lb1 started
        child = lab.exec("lb2", ["cat", f"{lb2.dir}/vrrp.pid"]).stdout.strip()
        for _ in range(PAUSES):
            lab.exec("lb2", ["kill", "-STOP", child])
            time.sleep(PAUSE)
            lab.exec("lb2", ["kill", "-CONT", child])
            time.sleep(1.0)  # a takeover would happen at once, and lb1's answer would end it
        took_over = became_master(lb2) - before
        print(f"\nlb2 paused {PAUSES} x {PAUSE:g} s with {INSTANCES} instances at {ADVERT:g} s: "
              f"{took_over} takeovers")
        assert took_over == 0
        assert want <= vips(lab, "lb1") and not want & vips(lab, "lb2")
    finally:
        stop_all(lb1, lb2)
