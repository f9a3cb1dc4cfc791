#!/usr/bin/env python3
"""Capture golden VRRP vectors from a real keepalived (not run by the test suite).

Usage (as root, on a host with keepalived, tcpdump, iproute2 and util-linux):

    python3 daemon/tests/vrrp/capture_vectors.py [--out DIR] [--keep-pcap]

What it does:

1. Creates two network namespaces named ``hapv<random>-ka`` (keepalived) and
   ``hapv<random>-cap`` (capture), joined by a veth pair.  Only documentation
   prefixes are used: 192.0.2.0/24 and 2001:db8::/32 (plus link-local).
   IPv6 DAD is switched off *inside those namespaces only* so the link-local
   source address is usable at once.
2. Writes a keepalived.conf into a fresh temp dir and runs
   ``keepalived -n -l -G -D -P -f CONF -p PIDFILE -r VRRPPIDFILE`` in the
   keepalived namespace, inside a private mount namespace whose /run is a
   tmpfs, so nothing it writes lands on the host's /run (the config and pid
   files live in the temp dir; /etc/keepalived is never read).
3. Runs tcpdump in the capture namespace, waits until every instance is
   MASTER and advertising, sends SIGTERM so the masters send priority 0,
   then stops tcpdump.
4. Parses the pcap (stdlib only) and writes one JSON file per vector under
   ``daemon/tests/vrrp/vectors/``.  The ``expect`` block of each file comes
   from the keepalived configuration written here, not from our decoder, so
   the unit tests check our codec against keepalived rather than against
   itself.  Only the checksum and IP header fields are taken from the wire.

Teardown (always, also on failure or Ctrl-C): processes we started are
signalled by PID (keepalived parent and its VRRP child from the pid file,
tcpdump), then any PID still inside our own namespaces (``ip netns pids``),
then the namespaces are deleted.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import ipaddress
import json
import os
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
MCAST4 = "224.0.0.18"
MCAST6 = "ff02::12"
KA_ADDR4, CAP_ADDR4 = "192.0.2.1", "192.0.2.2"
KA_ADDR6, CAP_ADDR6 = "2001:db8::1", "2001:db8::2"
PASSWORD = "s3cr3t"  # shorter than 8 bytes: keepalived pads with NULs


@dataclass
class Instance:
    """One vrrp_instance; its fields are also the expected decode result."""

    name: str
    vrid: int
    priority: int
    version: int
    family: str  # "ipv4" | "ipv6"
    advert_int: float  # seconds, as written in keepalived.conf
    vips: list[str]
    auth: str | None = None  # None | "PASS" | "AH"
    unicast: bool = False
    description: str = ""
    extra: list[str] = field(default_factory=list)

    def conf(self, ifname: str) -> str:
        lines = [
            f"vrrp_instance {self.name} {{",
            "    state BACKUP",
            f"    interface {ifname}",
            f"    virtual_router_id {self.vrid}",
            f"    priority {self.priority}",
            f"    advert_int {self.advert_int:g}",
            f"    version {self.version}",
        ]
        if self.auth:
            secret = PASSWORD if self.auth == "PASS" else "ahsecret"
            lines += ["    authentication {", f"        auth_type {self.auth}",
                      f"        auth_pass {secret}", "    }"]
        if self.unicast:
            src, peer = (KA_ADDR4, CAP_ADDR4) if self.family == "ipv4" else (KA_ADDR6, CAP_ADDR6)
            lines += [f"    unicast_src_ip {src}", "    unicast_peer {", f"        {peer}", "    }"]
        lines += ["    virtual_ipaddress {"]
        lines += [f"        {vip}/{32 if self.family == 'ipv4' else 128}" for vip in self.vips]
        lines += ["    }", *self.extra, "}"]
        return "\n".join(lines) + "\n"

    def wire_interval(self) -> int:
        # RFC 3768 5.3.7: whole seconds; RFC 5798 5.2.7: 12-bit centiseconds
        return int(self.advert_int) if self.version == 2 else round(self.advert_int * 100)


INSTANCES = [
    Instance("v2_pass", 10, 150, 2, "ipv4", 1, ["192.0.2.100", "192.0.2.101", "192.0.2.102"],
             auth="PASS", description="VRRPv2, simple-text password, three VIPs, multicast"),
    Instance("v2_none", 11, 100, 2, "ipv4", 1, ["192.0.2.110"],
             description="VRRPv2, no authentication, one VIP, multicast"),
    Instance("v2_ah", 12, 90, 2, "ipv4", 1, ["192.0.2.120"], auth="AH",
             description="VRRPv2 with IPsec AH (IP protocol 51): we refuse AH"),
    Instance("v3_ipv4", 20, 200, 3, "ipv4", 1.5, ["192.0.2.200", "192.0.2.201"],
             description="VRRPv3 IPv4, 150 cs interval, two VIPs, multicast"),
    Instance("v3_ipv4_owner", 21, 255, 3, "ipv4", 1, ["192.0.2.210"],
             description="VRRPv3 IPv4, priority 255 (address owner), multicast"),
    Instance("v3_ipv6", 30, 120, 3, "ipv6", 1, ["fe80::30", "2001:db8::30", "2001:db8::31"],
             description="VRRPv3 IPv6, link-local first VIP, three VIPs, multicast"),
    Instance("v2_unicast", 40, 110, 2, "ipv4", 1, ["192.0.2.140"], unicast=True,
             description="VRRPv2 unicast to one peer"),
    Instance("v3_ipv4_unicast", 41, 130, 3, "ipv4", 1, ["192.0.2.141", "192.0.2.142"],
             unicast=True, description="VRRPv3 IPv4 unicast: pseudo-header uses the peer address"),
    Instance("v3_ipv6_unicast", 42, 140, 3, "ipv6", 1, ["2001:db8::42"], unicast=True,
             description="VRRPv3 IPv6 unicast from a global address"),
]


def run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, text=True, capture_output=True)


def in_ns(ns: str, *cmd: str) -> None:
    run("ip", "netns", "exec", ns, *cmd)


class Lab:
    """Two namespaces and the processes we start in them; cleans up by PID."""

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.ns_ka, self.ns_cap = f"hapv{tag}-ka", f"hapv{tag}-cap"
        self.if_ka, self.if_cap = f"hv{tag}a", f"hv{tag}b"
        self.made: list[str] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        self.extra_pids: list[int] = []

    def setup(self) -> None:
        for ns in (self.ns_ka, self.ns_cap):
            run("ip", "netns", "add", ns)
            self.made.append(ns)
            # sysctls inside our own namespace only: no DAD, so link-local works at once
            for key in ("all", "default"):
                in_ns(ns, "sysctl", "-q", "-w", f"net.ipv6.conf.{key}.accept_dad=0")
            in_ns(ns, "ip", "link", "set", "lo", "up")
        run("ip", "link", "add", self.if_ka, "netns", self.ns_ka, "type", "veth",
            "peer", "name", self.if_cap, "netns", self.ns_cap)
        for ns, ifname, a4, a6 in ((self.ns_ka, self.if_ka, KA_ADDR4, KA_ADDR6),
                                   (self.ns_cap, self.if_cap, CAP_ADDR4, CAP_ADDR6)):
            in_ns(ns, "sysctl", "-q", "-w", f"net.ipv6.conf.{ifname}.accept_dad=0")
            in_ns(ns, "ip", "addr", "add", f"{a4}/24", "dev", ifname)
            in_ns(ns, "ip", "addr", "add", f"{a6}/64", "dev", ifname, "nodad")
            in_ns(ns, "ip", "link", "set", ifname, "up")

    def start(self, cmd: list[str], **kw: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(cmd, **kw)  # type: ignore[call-overload]
        self.procs.append(proc)
        return proc

    def teardown(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        pids = list(self.extra_pids)
        for ns in self.made:  # anything still alive inside *our* namespaces
            out = run("ip", "netns", "pids", ns, check=False).stdout.split()
            pids += [int(p) for p in out if p.isdigit()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for ns in reversed(self.made):
            run("ip", "netns", "del", ns, check=False)
        self.made.clear()


def read_pcap(path: Path) -> list[bytes]:
    """Return the IP packets (Ethernet stripped) of a classic pcap file."""
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit(f"unexpected pcap linktype {linktype}")
    packets, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "IIII", data[off:off + 16])[2]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ethertype = struct.unpack("!H", frame[12:14])[0]
        if ethertype in (0x0800, 0x86DD):
            packets.append(frame[14:])
    return packets


@dataclass
class Seen:
    family: str
    proto: int
    src: str
    dst: str
    ttl: int
    ip_packet: bytes | None
    payload: bytes


def parse_ip(pkt: bytes) -> Seen:
    if pkt[0] >> 4 == 4:
        ihl = (pkt[0] & 0x0F) * 4
        total = struct.unpack("!H", pkt[2:4])[0]
        return Seen("ipv4", pkt[9], str(ipaddress.IPv4Address(pkt[12:16])),
                    str(ipaddress.IPv4Address(pkt[16:20])), pkt[8], pkt[:total], pkt[ihl:total])
    plen = struct.unpack("!H", pkt[4:6])[0]
    return Seen("ipv6", pkt[6], str(ipaddress.IPv6Address(pkt[8:24])),
                str(ipaddress.IPv6Address(pkt[24:40])), pkt[7], None, pkt[40:40 + plen])


def vrrp_part(seen: Seen) -> bytes:
    # IPsec AH (RFC 4302 2): next hdr, len, reserved(2), SPI(4), seq(4), ICV; len in 32-bit words - 2
    if seen.proto == 51:
        return seen.payload[(seen.payload[1] + 2) * 4:]
    return seen.payload


def vector(inst: Instance, seen: Seen, shutdown: bool) -> dict[str, object]:
    vr = vrrp_part(seen)
    kind = "priority 0 sent by keepalived on SIGTERM" if shutdown else "periodic advertisement"
    doc: dict[str, object] = {
        "name": f"{inst.name}{'_shutdown' if shutdown else ''}",
        "description": f"{inst.description}; {kind}",
        "source": "keepalived v2.2.7 (Debian 12), daemon/tests/vrrp/capture_vectors.py",
        "captured": datetime.date.today().isoformat(),
        "family": seen.family,
        "ip_protocol": seen.proto,
        "src": seen.src,
        "dst": seen.dst,
        "ttl": seen.ttl,
    }
    if seen.ip_packet is not None:
        doc["ip_packet"] = seen.ip_packet.hex()
    doc["payload"] = seen.payload.hex()
    if inst.auth == "AH":
        doc["expect_error"] = "auth"
        return doc
    auth_data = ""
    if inst.version == 2:
        auth_data = (PASSWORD.encode() if inst.auth == "PASS" else b"").ljust(8, b"\0").hex()
    doc["expect"] = {
        "version": inst.version,
        "type": 1,
        "vrid": inst.vrid,
        "priority": 0 if shutdown else inst.priority,
        "count": len(inst.vips),
        "auth_type": {None: 0, "PASS": 1}[inst.auth] if inst.version == 2 else 0,
        "auth_data": auth_data,
        "advert_interval": inst.wire_interval(),
        "addresses": inst.vips,
        "checksum": struct.unpack("!H", vr[6:8])[0],  # the only field taken from the wire
    }
    return doc


def capture(out_dir: Path, keep_pcap: bool, run_seconds: float) -> None:
    for tool in ("keepalived", "tcpdump", "ip", "unshare"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found")
    lab = Lab()
    tmp = Path(tempfile.mkdtemp(prefix="hapv-capture-"))
    try:
        lab.setup()
        conf = tmp / "keepalived.conf"
        conf.write_text(
            "global_defs {\n    router_id hapair-capture\n}\n\n"
            + "\n".join(i.conf(lab.if_ka) for i in INSTANCES))
        pcap = tmp / "vrrp.pcap"
        lab.start(["ip", "netns", "exec", lab.ns_cap, "tcpdump", "-i", lab.if_cap, "-U", "-n",
                   "-w", str(pcap), "ip proto 112 or ip proto 51 or ip6 proto 112"],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        ka_log = (tmp / "keepalived.log").open("wb")
        # private mount namespace with a tmpfs /run: keepalived writes nothing on the host's /run
        ka_cmd = (f"mount -t tmpfs hapv-run /run && exec keepalived -n -l -G -D -P "
                  f"-f {conf} -p {tmp}/keepalived.pid -r {tmp}/vrrp.pid")
        keepalived = lab.start(["ip", "netns", "exec", lab.ns_ka, "unshare", "--mount",
                                "--propagation", "private", "sh", "-c", ka_cmd],
                               stdout=ka_log, stderr=subprocess.STDOUT)
        time.sleep(run_seconds)
        vrrp_pid = tmp / "vrrp.pid"
        if vrrp_pid.exists():
            lab.extra_pids.append(int(vrrp_pid.read_text().split()[0]))
        if keepalived.poll() is not None:
            raise SystemExit(f"keepalived exited early; see log:\n{(tmp / 'keepalived.log').read_text()}")
        keepalived.send_signal(signal.SIGTERM)  # masters send priority 0 (RFC 5798 6.4.3)
        keepalived.wait(timeout=10)
        time.sleep(1.0)
        lab.teardown()  # stops tcpdump (SIGTERM flushes the pcap) and removes the namespaces
        write_vectors(read_pcap(pcap), out_dir, tmp)
        if keep_pcap:
            shutil.copy(pcap, out_dir / "keepalived-2.2.7.pcap")
    finally:
        lab.teardown()
        shutil.rmtree(tmp, ignore_errors=True)


def write_vectors(packets: list[bytes], out_dir: Path, tmp: Path) -> None:
    by_vrid = {i.vrid: i for i in INSTANCES}
    found: dict[tuple[int, bool], Seen] = {}
    for pkt in packets:
        seen = parse_ip(pkt)
        vr = vrrp_part(seen)
        inst = by_vrid.get(vr[1]) if len(vr) > 2 else None
        if inst is None or inst.family != seen.family:
            continue
        found.setdefault((inst.vrid, vr[2] == 0), seen)
    missing = [(i.name, s) for i in INSTANCES for s in (False, True) if (i.vrid, s) not in found]
    if missing:
        log = (tmp / "keepalived.log").read_text(errors="replace")
        raise SystemExit(f"missing vectors {missing}; keepalived log:\n{log}")
    out_dir.mkdir(parents=True, exist_ok=True)
    for inst in INSTANCES:
        for shutdown in (False, True):
            doc = vector(inst, found[(inst.vrid, shutdown)], shutdown)
            path = out_dir / f"{doc['name']}.json"
            path.write_text(json.dumps(doc, indent=2) + "\n")
            print(f"wrote {path.relative_to(out_dir.parent)}")


def _interrupted(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}; tearing down")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "vectors")
    parser.add_argument("--keep-pcap", action="store_true")
    parser.add_argument("--seconds", type=float, default=7.0,
                        help="how long keepalived runs before SIGTERM (all must reach MASTER)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces, raw sockets)")
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, _interrupted)  # so the finally: teardown runs on any stop
    capture(args.out, args.keep_pcap, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
