"""Runs INSIDE the UML guest (test_syncd_uml.py boots it): lvs_sync_daemon between two real
pykeepalived balancers (VRRP + IPVS DR) in a real IPVS kernel.

lb1 (priority 150) is MASTER: its kernel runs the master sync daemon, lb2's the backup one.
A client holds a slow HTTP response open through the VIP; lb2's connection table gets the
entry from lb1's sync daemon. lb1 stops: lb2 takes the VIPs, switches to the master daemon,
and the same connection goes on streaming to its end: its packets now reach lb2, which
forwards them to the real server by the synced entry (without it, a mid-stream packet to the
VIP would be answered by lb2's own stack with a reset). Results: $HAPAIR_SHARE/syncd-checks.json as {name: [ok, detail]}.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # `lab` lives at the repo root

from lab.core import Lab  # noqa: E402

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CLIENT = HERE.parent / "lb_daemon" / "client.py"
WEB = HERE.parent / "lb_daemon" / "web.py"
WORK = Path("/tmp/lbsyncd")
VIP = "192.0.2.80"


def config(name: str, priority: int, sync: bool = True) -> str:
    syncd = "    lvs_sync_daemon eth1 VI_1\n" if sync else ""
    return f"""global_defs {{
    router_id {name}
{syncd}}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 0.5
    version 3
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
virtual_server {VIP} 80 {{
    protocol TCP
    delay_loop 1
    lb_algo rr
    lb_kind DR
    real_server 192.0.2.11 80 {{
        weight 1
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
}}
"""


class Guest:
    def __init__(self) -> None:
        self.lab = Lab.attach(os.environ["HAPAIR_LAB"])
        self.checks: dict[str, list] = {}
        self.procs: dict[str, subprocess.Popen] = {}
        self.stopped: list[subprocess.Popen] = []
        WORK.mkdir(exist_ok=True)

    def check(self, name: str, ok: bool, detail: object) -> None:
        self.checks[name] = [bool(ok), detail]
        print(("PASS " if ok else "FAIL ") + name, detail if not ok else "", flush=True)

    def wait(self, pred, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.1)
        return False

    def out(self, host: str, *argv: str) -> str:
        return self.lab.exec(host, list(argv), check=False).stdout

    def start_lb(self, host: str, priority: int, sync: bool = True) -> None:
        conf = WORK / f"{host}.conf"
        conf.write_text(config(host, priority, sync))
        log = (WORK / f"{host}.log").open("w")
        self.procs[host] = self.lab.popen(host, [str(BIN / "pykeepalived"), "-f", str(conf), "-n", "-l",
                                                 "--runtime-dir", str(WORK / host)], stdout=log,
                                          stderr=subprocess.STDOUT)

    def stop(self, host: str) -> None:
        proc = self.procs.pop(host)
        proc.terminate()
        self.stopped.append(proc)

    def has_vip(self, host: str) -> bool:
        return f"{VIP}/24" in self.out(host, "ip", "-4", "-o", "addr", "show", "dev", "eth0")

    def daemons(self, host: str) -> str:
        return self.out(host, "ipvsadm", "-L", "--daemon")

    def conns(self, host: str) -> str:
        return self.out(host, "ipvsadm", "-Lnc")

    def log(self, host: str) -> str:
        try:
            return (WORK / f"{host}.log").read_text()[-2500:]
        except OSError:
            return ""


def synced(table: str) -> bool:
    return any("192.0.2.100:" in line and f"{VIP}:80" in line and "192.0.2.11:80" in line
               for line in table.splitlines())


def run(g: Guest) -> None:
    g.lab.exec("web1", ["ip", "addr", "add", f"{VIP}/32", "dev", "lo"])  # DR
    g.procs["web1"] = g.lab.popen("web1", [sys.executable, str(WEB), "web1", "80"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    g.start_lb("lb2", 100)
    g.start_lb("lb1", 150)
    ok = g.wait(lambda: g.has_vip("lb1") and "192.0.2.11:80" in g.out("lb1", "ipvsadm", "-Ln")
                and "192.0.2.11:80" in g.out("lb2", "ipvsadm", "-Ln"), 60)
    g.check("lb1_master_and_both_program_ipvs", ok, g.log("lb1") + g.log("lb2"))
    ok = g.wait(lambda: "master sync daemon" in g.daemons("lb1") and "backup sync daemon" in g.daemons("lb2"), 20)
    g.check("lb1_master_daemon_lb2_backup_daemon", ok, (g.daemons("lb1"), g.daemons("lb2")))
    g.check("syncid_is_the_vrid", "syncid=51" in g.daemons("lb1"), g.daemons("lb1"))

    out, release = WORK / "slow.out", WORK / "slow.release"
    g.procs["client"] = g.lab.popen("client", [sys.executable, str(CLIENT), "--slow",
                                               f"http://{VIP}/slow?s=90&until={release}", str(out)])
    ok = g.wait(lambda: out.exists() and out.read_text().startswith("web1"), 20)
    g.check("stream_through_lb1", ok and synced(g.conns("lb1")), g.conns("lb1"))
    ok = g.wait(lambda: synced(g.conns("lb2")), 20)
    g.check("backup_table_has_the_synced_entry", ok, g.conns("lb2"))

    g.stop("lb1")  # failover
    ok = g.wait(lambda: g.has_vip("lb2") and not g.has_vip("lb1"), 20)
    g.check("lb2_takes_the_vips", ok, g.log("lb2"))
    ok = g.wait(lambda: "master sync daemon" in g.daemons("lb2") and "backup" not in g.daemons("lb2"), 20)
    g.check("lb2_switches_to_the_master_daemon", ok, g.daemons("lb2"))
    g.check("entry_still_on_lb2_after_failover", synced(g.conns("lb2")), g.conns("lb2"))
    # lb1 is gone (VIPs, IPVS services): the client's packets (its ACKs, the end) reach the real
    # server only through lb2; a broken connection would end the client with an error, not DONE
    time.sleep(2)  # a few more chunks through lb2 first
    release.write_text("")
    ok = g.wait(lambda: "DONE" in out.read_text(), 20)
    g.check("connection_survives_the_failover", ok, [out.read_text()[-300:], g.conns("lb2"),
                                                      g.out("lb2", "ipvsadm", "-Ln", "--stats"),
                                                      g.out("client", "ip", "neigh"), g.out("web1", "ip", "neigh"),
                                                      g.out("lb2", "ip", "-o", "addr"),
                                                      g.out("web1", "ss", "-tn"), g.out("client", "ss", "-tn")])
    g.stop("lb2")
    g.wait(lambda: "sync daemon" not in g.daemons("lb2"), 20)
    g.check("stop_leaves_no_sync_daemon", "sync daemon" not in g.daemons("lb2"), g.daemons("lb2"))
    control(g)


def control(g: Guest) -> None:
    """The same failover without lvs_sync_daemon: the connection does not survive it."""
    for proc in g.stopped:  # the first run's daemons are gone before the second's start
        proc.wait(timeout=30)
    g.start_lb("lb2", 100, sync=False)
    g.start_lb("lb1", 150, sync=False)
    ok = g.wait(lambda: g.has_vip("lb1") and "192.0.2.11:80" in g.out("lb2", "ipvsadm", "-Ln"), 60)
    out, release = WORK / "slow2.out", WORK / "slow2.release"
    client = g.lab.popen("client", [sys.executable, str(CLIENT), "--slow", f"http://{VIP}/slow?s=90&until={release}",
                                    str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    g.procs["client2"] = client
    ok = ok and g.wait(lambda: out.exists() and out.read_text().startswith("web1"), 20)
    g.stop("lb1")
    ok = ok and g.wait(lambda: g.has_vip("lb2"), 20)
    time.sleep(2)
    release.write_text("")
    ended = g.wait(lambda: client.poll() is not None, 40)
    g.check("control_without_sync_the_connection_breaks", ok and ended and "DONE" not in out.read_text(),
            [ok, ended, client.poll(), out.read_text()[-200:]])


def main() -> int:
    g = Guest()
    try:
        run(g)
    except Exception:
        g.check("guest_ran_to_end", False, traceback.format_exc() + g.log("lb1") + g.log("lb2"))
    else:
        g.check("guest_ran_to_end", True, "")
    finally:
        for proc in [*g.procs.values(), *g.stopped]:
            proc.kill()
    share = Path(os.environ.get("HAPAIR_SHARE", "/tmp"))
    (share / "syncd-checks.json").write_text(json.dumps(g.checks, default=str))
    return 0 if all(ok for ok, _ in g.checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
