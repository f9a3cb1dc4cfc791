"""Failover time, pykeepalived vs keepalived, in a lab (run as root).

    .venv/bin/python bench/failover.py [--runs 5] [--cases 2:1,3:1,3:0.1] [--impls pykeepalived,keepalived]

For each (version, advert_int), each run and each implementation (the two
alternate within a run, so both see the same machine load), a pair of the
same implementation runs in a lab "five": lb1 priority 150 (`state MASTER`),
lb2 priority 100.  The master is stopped two ways:

- kill -9: SIGKILL to the master's whole process group in one killpg(2)
  (keepalived: parent and VRRP child together, so nothing respawns); the
  VIP stays on lb1's eth0, as after a real crash;
- SIGTERM: to the main process (keepalived: the parent, as systemd does),
  so the master sends priority 0.

"Answering" = the host `client` gets an ARP reply for the VIP from lb2's
MAC: the client broadcasts an ARP request for the VIP every 1 ms (AF_PACKET
socket in its netns) and the first reply sourced from lb2's MAC ends the run
(lb1's replies after a kill -9 are ignored).  The VIP appearing on lb2 is
timed too, from an RTNLGRP_IPV4_IFADDR netlink event in lb2's netns (no
polling).  Clock: CLOCK_MONOTONIC of this process (no time namespaces in
the lab); adverts and ARP replies carry the kernel's arrival stamp
(SO_TIMESTAMPNS), the netlink event is stamped when read (netlink sockets
carry no timestamps; this process polls every <= 1 ms); the signal is sent
from here by global PID (no nsenter in between).  Resolution of "answer":
~1 ms (the ARP period); the backup's lateness past Master_Down_Interval /
Skew_Time is also printed from the VIP's netlink event (no probe period).
Before each kill the pair has run a random 3-4 advert intervals past
election, so the kill falls at a random phase of the advert cycle.

Prints the median [min-max] of ``--runs`` runs next to the RFC's
Master_Down_Interval and Skew_Time of the priority-100 backup.
"""
from __future__ import annotations

import argparse
import random
import socket
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vrrp_lab import BenchDaemon, conf, host_netns, in_netns, vips_on, wait_until  # noqa: E402

from lab.pytest_plugin import start_lab  # noqa: E402
from pykeepalived.vrrp.timers import master_down_interval, skew_time  # noqa: E402

VIP = "192.0.2.210"
VRID = 90
ARP_PERIOD = 0.001
ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
RTMGRP_IPV4_IFADDR = 0x10
RTM_NEWADDR = 20
SO_TIMESTAMPNS = 35  # also its cmsg type
IFA_LOCAL = 2


def kernel_stamp(ancillary) -> float:
    """SO_TIMESTAMPNS (CLOCK_REALTIME) as this process's CLOCK_MONOTONIC; now if absent."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack("=qq", data[:16])
            return sec + nsec / 1e9 - (time.time() - time.monotonic())
    return time.monotonic()


class Probe:
    """ARP prober on the client + netlink address watcher on the backup."""

    def __init__(self, lab, vip: str, vrid: int, master: str = "lb1", backup: str = "lb2",
                 client: str = "client"):
        self.vrid = vrid
        self.vip = socket.inet_aton(vip)
        with in_netns(host_netns(lab, client)):
            self.arp = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
            self.arp.bind(("eth0", ETH_P_ARP))
            self.ip = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
            self.ip.bind(("eth0", ETH_P_IP))
        self.master_ip = socket.inet_aton(lab.address(master))
        self.my_mac = self.arp.getsockname()[4]
        self.my_ip = socket.inet_aton(lab.address(client))
        with in_netns(host_netns(lab, backup)):
            self.nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            self.nl.bind((0, RTMGRP_IPV4_IFADDR))
        link = lab.exec(backup, ["ip", "-o", "link", "show", "dev", "eth0"]).stdout.split()
        self.backup_mac = bytes.fromhex(link[link.index("link/ether") + 1].replace(":", ""))
        for s in (self.arp, self.nl, self.ip):
            s.setblocking(False)
        for s in (self.arp, self.ip):  # the kernel's arrival time (netlink sockets carry none)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.last_advert: float | None = None  # last advert from the master with priority > 0
        self.stop_advert: float | None = None  # its priority-0 advert
        self.request = (b"\xff" * 6 + self.my_mac + struct.pack("!H", ETH_P_ARP)
                        + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + self.my_mac + self.my_ip
                        + b"\0" * 6 + self.vip)

    def discard_pending(self) -> None:
        self.last_advert = self.stop_advert = None
        for s in (self.arp, self.nl, self.ip):
            try:
                while s.recv(65536):
                    pass
            except BlockingIOError:
                pass

    def _answer(self, frame: bytes) -> bool:
        arp = frame[14:42]
        return (len(arp) == 28 and frame[12:14] == b"\x08\x06" and arp[6:8] == b"\0\x02"
                and arp[8:14] == self.backup_mac and arp[14:18] == self.vip)

    def _advert(self, frame: bytes, stamp: float) -> None:
        ip = frame[14:]
        if len(ip) < 20 or ip[9] != 112 or ip[12:16] != self.master_ip:
            return
        vrrp = ip[(ip[0] & 0xF) * 4:]
        if len(vrrp) >= 3 and vrrp[1] == self.vrid:
            if vrrp[2] == 0:
                self.stop_advert = self.stop_advert or stamp
            else:
                self.last_advert = stamp

    def listen(self, seconds: float) -> None:
        """Record the master's adverts (arrival times) for a while: the kill then follows at once."""
        import select
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if select.select([self.ip], [], [], left)[0]:
                self._read(self.ip, 0.0, {})

    def _read(self, s: socket.socket, t0: float, out: dict) -> None:
        try:
            while True:
                data, anc, _, _ = s.recvmsg(65536, 64)
                stamp = kernel_stamp(anc)
                if s is self.ip:
                    self._advert(data, stamp)
                elif s is self.nl and "vip" not in out and self._vip_added(data):
                    out["vip"] = stamp - t0
                elif s is self.arp and "answer" not in out and self._answer(data):
                    out["answer"] = stamp - t0
        except BlockingIOError:
            pass

    def _vip_added(self, data: bytes) -> bool:
        off = 0
        while off + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, off)
            if length < 16:
                break
            if kind == RTM_NEWADDR:
                a = off + 16 + 8  # nlmsghdr + ifaddrmsg
                while a + 4 <= off + length:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atype == IFA_LOCAL and data[a + 4:a + alen] == self.vip:
                        return True
                    a += (alen + 3) & ~3
            off += (length + 3) & ~3
        return False

    def wait(self, t0: float, timeout: float) -> dict[str, float]:
        """Seconds from t0 to: the VIP on the backup ("vip"), the client's first ARP answer from
        the backup ("answer"); and from the master's last advert ("advert") and its priority-0
        advert ("stop") to that answer; "advert_vip" and "stop_vip" the same to the VIP on the
        backup (no probe period in between: the backup's own reaction)."""
        import select
        out: dict[str, float] = {}
        next_send = time.monotonic()
        deadline = t0 + timeout
        while "answer" not in out:
            now = time.monotonic()
            if now > deadline:
                break
            if now >= next_send:
                self.arp.send(self.request)
                next_send = now + ARP_PERIOD
            ready, _, _ = select.select([self.arp, self.nl, self.ip], [], [],
                                        max(0.0, next_send - time.monotonic()))
            for s in ready:
                self._read(s, t0, out)
        if self.stop_advert is not None:
            out["prio0"] = self.stop_advert - t0  # the stopping master's reaction time
        for end, suffix in (("answer", ""), ("vip", "_vip")):
            if end in out:
                for key, stamp in (("advert", self.last_advert), ("stop", self.stop_advert)):
                    if stamp is not None:
                        out[key + suffix] = out[end] + t0 - stamp
        return out

    def close(self) -> None:
        for s in (self.arp, self.nl, self.ip):
            s.close()


def one_block(lab, probe: Probe, kind: str, version: int, advert: float, logs: Path,
              results: dict) -> None:
    """Start a pair, time kill -9 then SIGTERM (restarting the master in between), stop it."""
    vip = f"{VIP}/24"
    mk = conf([(VRID, vip)], 150, version=version, advert_int=advert, state="MASTER")
    bk = conf([(VRID, vip)], 100, version=version, advert_int=advert, state="BACKUP")
    master = BenchDaemon(lab, "lb1", kind, f"m-{kind}", mk, logs)
    backup = BenchDaemon(lab, "lb2", kind, f"b-{kind}", bk, logs)
    mdi = master_down_interval(version, 100, advert)
    limit = 3 * mdi + 5
    try:
        for sig in ("KILL", "TERM"):
            lab.exec("lb1", ["ip", "addr", "del", vip, "dev", "eth0"], check=False)  # a kill -9 leftover
            master.start()
            wait_until(lambda: VIP in vips_on(lab, "lb1"), limit, f"{kind}: VIP never on lb1")
            if not backup.running():
                backup.start()
            wait_until(lambda: VIP not in vips_on(lab, "lb2"), limit, f"{kind}: VIP stayed on lb2")
            time.sleep(advert * 2 + 0.2)  # the backup has heard a few adverts
            if VIP in vips_on(lab, "lb2") or VIP not in vips_on(lab, "lb1"):
                raise RuntimeError(f"{kind}: pair not settled before {sig}")
            probe.discard_pending()
            probe.listen(advert * random.uniform(1.5, 2.5))  # the kill falls at a random advert phase
            t0 = time.monotonic()
            master.kill9() if sig == "KILL" else master.term()
            got = probe.wait(t0, limit)
            master.wait_gone(10)
            results[sig].append(got)
            print(f"  v{version} {advert:g} s {kind:<12} {sig}: " + " ".join(
                f"{k} {got.get(k, float('nan')):.3f}" for k in ("vip", "answer", "advert", "stop", "prio0")),
                file=sys.stderr, flush=True)
            if "answer" not in got:
                backup.stop()  # start the next block from scratch
    finally:
        for d in (master, backup):
            try:
                d.stop()
            except Exception as e:  # noqa: BLE001 - cleanup continues
                print(f"  warning: {e}", file=sys.stderr)
            d.cleanup()
        lab.exec("lb1", ["ip", "addr", "del", vip, "dev", "eth0"], check=False)
        lab.exec("lb2", ["ip", "addr", "del", vip, "dev", "eth0"], check=False)


def cell(samples: list[dict[str, float]], key: str) -> str:
    xs = [s[key] for s in samples if key in s]
    if not xs:
        return "no result"
    miss = len(samples) - len(xs)
    tail = f" ({miss} failed)" if miss else ""
    return f"{statistics.median(xs):.3f} [{min(xs):.3f}-{max(xs):.3f}]{tail}"


def late(samples: list[dict[str, float]], key: str, interval: float) -> str:
    xs = [1000 * (s[key] - interval) for s in samples if key in s]
    if not xs:
        return "no result"
    return f"{statistics.median(xs):.2f} [{min(xs):.2f}-{max(xs):.2f}]"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cases", default="2:1,3:1,3:0.1", help="VERSION:ADVERT_INT,... (default %(default)s)")
    ap.add_argument("--impls", default="pykeepalived,keepalived")
    ap.add_argument("--logs", help="keep the daemons' logs in this directory (default: a temporary one)")
    args = ap.parse_args()
    cases = [(int(v), float(a)) for v, a in (c.split(":") for c in args.cases.split(","))]
    impls = args.impls.split(",")
    res = {(c, k): {"KILL": [], "TERM": []} for c in cases for k in impls}
    lab = start_lab("five")
    try:
        probe = Probe(lab, VIP, VRID)
        with tempfile.TemporaryDirectory(prefix="failover-") as tmp:
            if args.logs:
                Path(args.logs).mkdir(parents=True, exist_ok=True)
                tmp = args.logs
            for run in range(args.runs):
                for case in cases:
                    order = impls if run % 2 == 0 else impls[::-1]
                    for kind in order:
                        one_block(lab, probe, kind, *case, Path(tmp), res[(case, kind)])
        probe.close()
    finally:
        lab.down()
    print(f"\nfailover of a VRRP pair to the VIP answering on the backup (priority 100), seconds,"
          f" median [min-max] of {args.runs} runs")
    print("answer = the client's first ARP reply for the VIP from lb2's MAC (probes every 1 ms);"
          " 'advert' = from the dead master's last advert, 'prio 0' = from its priority-0 advert\n")
    w = 21
    head = (f"{'ver':<3} {'advert':>6}  {'impl':<12}  {'kill -9: signal':<{w}}  {'kill -9: advert':<{w}}  "
            f"{'MDI':>5}  {'x1.05':>5}  {'SIGTERM: signal':<{w}}  {'SIGTERM: prio 0':<{w}}  {'Skew':>5}")
    print(head)
    print("-" * len(head))
    lag = []
    for case in cases:
        version, advert = case
        mdi, skew = master_down_interval(version, 100, advert), skew_time(version, 100, advert)
        for kind in impls:
            r = res[(case, kind)]
            lag += [x["answer"] - x["vip"] for sig in r for x in r[sig] if "vip" in x and "answer" in x]
            print(f"v{version:<2} {advert:>6g}  {kind:<12}  {cell(r['KILL'], 'answer'):<{w}}  "
                  f"{cell(r['KILL'], 'advert'):<{w}}  {mdi:>5.3f}  {1.05 * mdi:>5.3f}  "
                  f"{cell(r['TERM'], 'answer'):<{w}}  {cell(r['TERM'], 'stop'):<{w}}  {skew:>5.3f}")
    print("\nSIGTERM -> the master's priority-0 advert seen at the client, ms, median [min-max]:")
    for case in cases:
        for kind in impls:
            xs = [1000 * x["prio0"] for x in res[(case, kind)]["TERM"] if "prio0" in x]
            if xs:
                print(f"  v{case[0]} {case[1]:g} s {kind:<12} {statistics.median(xs):.3f} "
                      f"[{min(xs):.3f}-{max(xs):.3f}]")
    print("\nthe backup's lateness, ms past the RFC's interval, median [min-max]: from the dead master's"
          " last advert to the VIP on lb2 (netlink event) minus Master_Down_Interval (kill -9); from its"
          " priority-0 advert minus Skew_Time (SIGTERM)")
    for case in cases:
        version, advert = case
        mdi, skew = master_down_interval(version, 100, advert), skew_time(version, 100, advert)
        for kind in impls:
            r = res[(case, kind)]
            print(f"  v{version} {advert:g} s {kind:<12} kill -9 {late(r['KILL'], 'advert_vip', mdi):<22}"
                  f" SIGTERM {late(r['TERM'], 'stop_vip', skew)}")
    if lag:
        print(f"\nVIP added on lb2 (netlink event) -> first ARP answer at the client: "
              f"median {1000 * statistics.median(lag):.1f} ms, max {1000 * max(lag):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
