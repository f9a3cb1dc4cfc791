"""Runs INSIDE the UML guest (test_daemon_uml.py boots it): the real `pykeepalived -C`
in the `lb` netns health-checks three HTTP real servers and programs IPVS;
`client` sends traffic through the virtual services.

Every check reads the kernel (`ipvsadm -Ln` in lb) and who answered the
client; results go to $HAPAIR_SHARE/lbd-checks.json as {name: [ok, detail]},
measured times to lbd-times.json. Exit 0 when every check passed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # `lab` lives at the repo root

from pyroute2 import netns  # noqa: E402

from lab.checks.ipvs_table import ipvsadm_dests  # noqa: E402
from lab.core import Lab  # noqa: E402

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent  # the venv's pykeepalived / pykeepalivedctl
WORK = Path("/tmp/lbdaemon")  # the guest's tmpfs
RUN = WORK / "run"
WEBS = {"web1": "198.51.100.11", "web2": "198.51.100.12", "web3": "198.51.100.13"}
NAT, DR, INHIBIT = "192.0.2.80:80", "192.0.2.81:8080", "192.0.2.82:80"
DELAY_LOOP, RETRY, DELAY_BEFORE_RETRY, CONNECT_TIMEOUT = 0.5, 1, 0.3, 1.0
# Worst case to notice a refused real server: wait for the next check, then its retries.
DETECT = DELAY_LOOP + RETRY * DELAY_BEFORE_RETRY
SLACK = 2.0  # a UML guest on a loaded 2-core host: scheduling, python, ipvsadm polls

CHECK = f"""\
      connect_timeout {CONNECT_TIMEOUT}
      retry {RETRY}
      delay_before_retry {DELAY_BEFORE_RETRY}
"""


def real_servers(port: int, http: bool) -> str:
    out = ""
    for addr in WEBS.values():
        checker = (f"    HTTP_GET {{\n      url {{\n        path /\n        status_code 200\n      }}\n{CHECK}    }}\n"
                   if http else f"    TCP_CHECK {{\n{CHECK}    }}\n")
        out += f"  real_server {addr} {port} {{\n    weight 1\n{checker}  }}\n"
    return out


def config() -> str:
    q = WORK / "quorum.sh"
    return (f"global_defs {{\n  router_id lbd\n  lvs_notify_fifo {WORK}/lvs.fifo\n}}\n"
            f"virtual_server 192.0.2.80 80 {{\n  protocol TCP\n  delay_loop {DELAY_LOOP}\n  lb_algo rr\n  lb_kind NAT\n"
            f"  sorry_server 198.51.100.20 8080\n  quorum_up \"{q} up\"\n  quorum_down \"{q} down\"\n"
            f"{real_servers(8080, http=True)}}}\n"
            f"virtual_server 192.0.2.81 8080 {{\n  protocol TCP\n  delay_loop {DELAY_LOOP}\n  lb_algo rr\n  lb_kind DR\n"
            f"{real_servers(8080, http=False)}}}\n"
            f"virtual_server 192.0.2.82 80 {{\n  protocol TCP\n  delay_loop {DELAY_LOOP}\n  lb_algo rr\n  lb_kind NAT\n"
            f"  inhibit_on_failure\n{real_servers(8080, http=False)}}}\n")


def dests(vip: str) -> dict[str, tuple[str, int]]:
    """`ipvsadm -Ln` (this process sits in lb's netns) -> {rs: (forward, weight)} for one service."""
    table = subprocess.run(["ipvsadm", "-Ln"], capture_output=True, text=True, check=True).stdout
    return ipvsadm_dests(table, vip)


def rs(name: str) -> str:
    return f"{WEBS[name]}:8080"


class Guest:
    def __init__(self) -> None:
        self.lab = Lab.attach(os.environ["HAPAIR_LAB"])
        self.checks: dict[str, list] = {}
        self.times: dict[str, float] = {}
        self.webs: dict[str, subprocess.Popen] = {}
        self.daemon: subprocess.Popen | None = None
        WORK.mkdir(exist_ok=True)

    def check(self, name: str, ok: bool, detail: object) -> None:
        self.checks[name] = [bool(ok), detail]
        print(("PASS " if ok else "FAIL ") + name, detail if not ok else "", flush=True)

    def start_web(self, host: str) -> None:
        self.webs[host] = self.lab.popen(host, [sys.executable, str(HERE / "web.py"), host, "8080"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while ":8080" not in self.lab.exec(host, ["ss", "-ltnH"]).stdout:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{host}: web server not listening")
            time.sleep(0.05)

    def kill_web(self, host: str) -> float:
        proc = self.webs.pop(host)
        proc.kill()
        proc.wait()
        return time.monotonic()

    def fetch(self, url: str, n: int) -> Counter:
        out = self.lab.exec("client", [sys.executable, str(HERE / "client.py"), url, str(n)], timeout=60).stdout
        return Counter(out.split())

    def ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "pykeepalivedctl"), args[0], "--runtime-dir", str(RUN), *args[1:]],
                              capture_output=True, text=True, timeout=60)

    def wait(self, pred, timeout: float, step: float = 0.05) -> float | None:
        """Seconds until pred() held (None: it never did within timeout)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if pred():
                return time.monotonic() - start
            time.sleep(step)
        return None

    def daemon_log(self) -> str:
        try:
            return (WORK / "daemon.log").read_text()[-3000:]
        except OSError:
            return ""


def run(g: Guest) -> None:
    for host in (*WEBS, "sorry"):
        g.start_web(host)
    for host in WEBS:  # DR: the VIP on lo (arp_ignore/arp_announce come from the topology)
        g.lab.exec(host, ["ip", "addr", "add", "192.0.2.81/32", "dev", "lo"])
    quorum_sh = WORK / "quorum.sh"
    quorum_sh.write_text(f"#!/bin/sh\necho \"$1\" >> {WORK}/quorum.log\n")
    quorum_sh.chmod(0o755)
    conf = WORK / "keepalived.conf"
    conf.write_text(config())
    t = subprocess.run([str(BIN / "pykeepalived"), "-t", "-f", str(conf)], capture_output=True, text=True)
    if t.returncode != 0:
        raise RuntimeError(f"config rejected: {t.stderr}")
    netns.setns(g.lab.netns("lb"))  # from here on this process (ipvsadm, pykeepalivedctl) is in lb
    t0 = time.monotonic()
    with open(WORK / "daemon.log", "w") as log:  # the child keeps its own descriptor
        g.daemon = g.lab.popen("lb", [str(BIN / "pykeepalived"), "-f", str(conf), "-n", "-l", "-C",
                                      "--runtime-dir", str(RUN)], stdout=log, stderr=subprocess.STDOUT)
    full = {rs(h): ("Masq", 1) for h in WEBS}
    took = g.wait(lambda: dests(NAT) == full and len(dests(DR)) == 3 and len(dests(INHIBIT)) == 3, 30)
    g.times["daemon_start_to_programmed_s"] = round(time.monotonic() - t0, 2)
    g.check("daemon_programs_ipvs", took is not None and dests(DR) == {rs(h): ("Route", 1) for h in WEBS},
            (dests(NAT), dests(DR), g.daemon_log()))
    c = g.fetch(f"http://{NAT}/", 6)
    g.check("nat_rr_balances", c == Counter({"web1": 2, "web2": 2, "web3": 2}), dict(c))
    c = g.fetch(f"http://{DR}/", 6)
    g.check("dr_rr_balances", c == Counter({"web1": 2, "web2": 2, "web3": 2}), dict(c))

    # A killed real server leaves the rotation within delay_loop + retries.
    killed = g.kill_web("web2")
    gone = g.wait(lambda: rs("web2") not in dests(NAT), DETECT + 10)
    g.times["rs_down_detect_s"] = round(gone, 2) if gone is not None else -1
    g.check("killed_rs_leaves_nat_in_time", gone is not None and gone <= DETECT + SLACK,
            f"{gone} s (bound {DETECT} + {SLACK})")
    g.wait(lambda: rs("web2") not in dests(DR) and dests(INHIBIT).get(rs("web2")) == ("Masq", 0), 10)
    g.check("killed_rs_leaves_dr", rs("web2") not in dests(DR) and len(dests(DR)) == 2, dests(DR))
    g.check("inhibit_keeps_weight_zero", dests(INHIBIT) == {rs("web1"): ("Masq", 1), rs("web2"): ("Masq", 0),
                                                             rs("web3"): ("Masq", 1)}, dests(INHIBIT))
    c = g.fetch(f"http://{NAT}/", 6)
    g.check("killed_rs_gets_no_traffic", c == Counter({"web1": 3, "web3": 3}), dict(c))
    c = g.fetch(f"http://{INHIBIT}/", 6)
    g.check("inhibited_rs_gets_no_traffic", c == Counter({"web1": 3, "web3": 3}), dict(c))
    g.times["rs_down_total_since_kill_s"] = round(time.monotonic() - killed, 2)

    g.start_web("web2")
    back = g.wait(lambda: dests(NAT) == full, DELAY_LOOP + 10)
    g.times["rs_up_detect_s"] = round(back, 2) if back is not None else -1
    g.check("restarted_rs_returns_in_time", back is not None and back <= DELAY_LOOP + SLACK,
            f"{back} s (bound {DELAY_LOOP} + {SLACK})")
    g.wait(lambda: dests(INHIBIT).get(rs("web2")) == ("Masq", 1) and len(dests(DR)) == 3, 10)
    g.check("inhibited_rs_weight_restored", dests(INHIBIT).get(rs("web2")) == ("Masq", 1), dests(INHIBIT))
    c = g.fetch(f"http://{NAT}/", 6)
    g.check("restarted_rs_gets_traffic", c == Counter({"web1": 2, "web2": 2, "web3": 2}), dict(c))

    # All real servers down: the sorry server takes over, quorum_down runs once.
    for host in WEBS:
        g.kill_web(host)
    sorry = {"198.51.100.20:8080": ("Masq", 1)}
    took = g.wait(lambda: dests(NAT) == sorry, DETECT + 10)
    c = g.fetch(f"http://{NAT}/", 3)
    g.check("sorry_server_takes_over", took is not None and c == Counter({"sorry": 3}), (dests(NAT), dict(c)))
    g.wait(lambda: (WORK / "quorum.log").exists(), 5)
    g.check("quorum_down_fired_once", _quorum_log() == ["down"], _quorum_log())
    for host in WEBS:
        g.start_web(host)
    took = g.wait(lambda: dests(NAT) == full, DELAY_LOOP + 10)
    g.wait(lambda: len(_quorum_log()) >= 2, 5)
    time.sleep(DELAY_LOOP * 2)  # a second quorum_up (or down) would show by now
    g.check("sorry_server_leaves_on_recovery", took is not None, dests(NAT))
    g.check("quorum_up_fired_once", _quorum_log() == ["down", "up"], _quorum_log())

    drain(g, full)

    g.daemon.send_signal(signal.SIGTERM)
    rc = g.daemon.wait(timeout=20)
    g.check("sigterm_clears_daemon_services", rc == 0 and not dests(NAT) and not dests(DR) and not dests(INHIBIT),
            (rc, g.daemon_log()))
    g.daemon = None


def drain(g: Guest, full: dict) -> None:
    """drain: kernel weight 0 at once, the established connection lives on, wait-drain ends with it."""
    slow_out, release = WORK / "slow.out", WORK / "slow.release"
    release.unlink(missing_ok=True)
    # open until the release file exists: a 6 s timer used to race the drain and fetches below,
    # which take longer than that in a loaded guest (then the connection was closed "at start")
    slow = g.lab.popen("client", [sys.executable, str(HERE / "client.py"), "--slow",
                                  f"http://{NAT}/slow?s=60&until={release}", str(slow_out)])
    g.wait(lambda: slow_out.exists() and slow_out.read_text().strip() != "", 10)
    host = slow_out.read_text().split()[0]
    if host not in WEBS:
        raise RuntimeError(f"slow response from {host!r}")
    addr = WEBS[host]
    r = g.ctl("drain", addr, "8080")
    weight_now = dests(NAT).get(rs(host))
    g.check("drain_sets_kernel_weight_zero_at_once", r.returncode == 0 and weight_now == ("Masq", 0),
            (r.returncode, r.stdout, r.stderr, weight_now))
    c = g.fetch(f"http://{NAT}/", 6)
    others = [h for h in WEBS if h != host]
    g.check("drained_rs_gets_no_new_connections", c == Counter({others[0]: 3, others[1]: 3}), dict(c))
    open_at_start = "DONE" not in slow_out.read_text()
    waiter = subprocess.Popen([str(BIN / "pykeepalivedctl"), "wait-drain", "--runtime-dir", str(RUN), addr, "8080",
                               "--timeout", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # while the connection is open, wait-drain waits (a second of it is watched)
    waits_while_open = g.wait(lambda: waiter.poll() is not None, 1.0) is None
    release.touch()
    closed = time.monotonic()
    out, err = waiter.communicate(timeout=90)
    waited = time.monotonic() - closed
    try:
        slow.wait(timeout=30)
    except subprocess.TimeoutExpired:
        slow.kill()
        slow.wait()
    text = slow_out.read_text()
    g.times["wait_drain_s"] = round(waited, 2)  # from the release of the connection to wait-drain's return
    g.check("established_connection_survives_drain", text.endswith("DONE\n") and slow.returncode == 0,
            (slow.returncode, text))
    g.check("wait_drain_returns_when_it_closes",
            waiter.returncode == 0 and "drained" in out and open_at_start and waits_while_open,
            (waiter.returncode, out, err, open_at_start, waits_while_open, waited))
    r = g.ctl("undrain", addr, "8080")
    g.check("undrain_restores", r.returncode == 0 and dests(NAT) == full, (r.stdout, r.stderr, dests(NAT)))
    c = g.fetch(f"http://{NAT}/", 6)
    g.check("undrained_rs_gets_traffic", c == Counter({"web1": 2, "web2": 2, "web3": 2}), dict(c))


def _quorum_log() -> list[str]:
    try:
        return (WORK / "quorum.log").read_text().split()
    except FileNotFoundError:
        return []


def main() -> int:
    g = Guest()
    try:
        run(g)
    except Exception:
        g.check("guest_ran_to_end", False, traceback.format_exc() + "\n" + g.daemon_log())
    else:
        g.check("guest_ran_to_end", True, "")
    finally:
        if g.daemon is not None:
            g.daemon.kill()
    print("TIMES " + json.dumps(g.times), flush=True)
    share = Path(os.environ.get("HAPAIR_SHARE", "/tmp"))
    (share / "lbd-checks.json").write_text(json.dumps(g.checks, default=str))
    (share / "lbd-times.json").write_text(json.dumps(g.times))
    return 0 if all(ok for ok, _ in g.checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
