"""BFD peers on lab hosts: configs, keepalived with its BFD child, cutting a peer's packets.

keepalived runs its BFD sessions in their own child, which ``-P`` (VRRP only)
would leave out: here it runs whole (an idle checker child comes along).
A peer is "cut" by dropping its own outgoing BFD packets with nft in its
namespace, so a capture on the detecting host sees exactly the last packet
that arrived.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from vrrp.vrrp_hosts import KEEPALIVED, Daemon, conf, wait_for

from lab import Lab
from lab.shell import clean_env

TABLE = "hk_bfd_test"


def bfd_block(name: str, neighbor: str, source: str, *, interval_ms: int = 50, multiplier: int = 3) -> str:
    return f"""bfd_instance {name} {{
    neighbor_ip {neighbor}
    source_ip {source}
    min_rx {interval_ms}
    min_tx {interval_ms}
    multiplier {multiplier}
}}
"""


def track_bfd(name: str, weight: int | None = None) -> str:
    return f"    track_bfd {{\n        {name}{'' if weight is None else f' weight {weight}'}\n    }}\n"


def bfd_conf(name: str, neighbor: str, source: str, vrid: int, vip: str) -> str:
    """One bfd_instance and one lone MASTER instance that faults while the session is not Up."""
    return bfd_block(name, neighbor, source) + conf(vrid, 100, vip, state="MASTER", extra=track_bfd(name))


class BfdDaemon(Daemon):
    def start(self, log_dir: Path) -> BfdDaemon:
        if self.kind == "pykeepalived":
            super().start(log_dir)
            return self
        self.lab.exec(self.host, ["mkdir", "-p", self.dir])
        self.lab.exec(self.host, ["rm", "-f", *(f"{self.dir}/{f}.pid" for f in ("keepalived", "vrrp", "checkers",
                                                                               "bfd"))])
        self.write_config()
        d = self.dir
        argv = [KEEPALIVED, "-n", "-l", "-f", f"{d}/keepalived.conf", "-p", f"{d}/keepalived.pid",
                "-r", f"{d}/vrrp.pid", "-c", f"{d}/checkers.pid", "-b", f"{d}/bfd.pid"]
        log = (log_dir / f"{self.host}-{self.name}.log").open("ab")
        self.lab.popen(self.host, argv, stdout=log, stderr=log)
        wait_for(lambda: bool(self.pids()), 10, f"keepalived on {self.host} wrote no pid file")
        return self

    def log_path(self, log_dir: Path) -> Path:
        return log_dir / f"{self.host}-{self.name}.log"


CTL = str(Path(sys.executable).with_name("pykeepalivedctl"))


def bfd_status(daemon: Daemon) -> dict:
    """``pykeepalivedctl status``'s BFD part (the BFD child's) for a pykeepalived daemon."""
    out = daemon.lab.exec(daemon.host, [CTL, "status", "--json", "--runtime-dir", daemon.dir]).stdout
    return json.loads(out)["result"]["bfd"]


def cut(lab: Lab, host: str) -> None:
    """Drop the host's own outgoing BFD control packets (UDP to port 3784)."""
    lab.exec(host, ["nft", "-f", "-"], input=f"""table inet {TABLE} {{
    chain out {{
        type filter hook output priority 0; policy accept;
        udp dport 3784 drop
    }}
}}
""")


def uncut(lab: Lab, host: str) -> None:
    lab.exec(host, ["nft", "delete", "table", "inet", TABLE], check=False)


class AddressMonitor:
    """``ip -ts monitor address`` inside a host, timestamps in UTC."""

    def __init__(self, lab: Lab, host: str, path: Path) -> None:
        self.path = path
        self.out = path.open("w")
        self.proc = lab.popen(host, ["ip", "-ts", "monitor", "address"], stdout=self.out,
                              stderr=subprocess.STDOUT, env=clean_env({"TZ": "UTC"}))
        # listening once it reports an event of ours: a throwaway address on the host's loopback
        marker = ["127.0.0.99/32", "dev", "lo"]
        deadline = time.monotonic() + 5
        while "127.0.0.99/32" not in path.read_text():
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"ip monitor on {host} reported nothing")
            lab.exec(host, ["ip", "addr", "add", *marker])
            lab.exec(host, ["ip", "addr", "del", *marker])
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)
        self.out.close()

    def deleted_at(self, vip: str, after: float = 0.0) -> float:
        """Epoch seconds of the first deletion of ``vip`` at or after ``after`` (a loaded machine can
        drop a 150 ms session by itself before the test cuts it: that deletion is not the one timed)."""
        for line in self.path.read_text().splitlines():
            m = re.match(r"\[(\S+)\] Deleted .* inet " + re.escape(vip) + "/", line)
            if m:
                at = datetime.fromisoformat(m.group(1)).replace(tzinfo=UTC).timestamp()
                if at >= after:
                    return at
        raise AssertionError(f"no deletion of {vip} in {self.path}: {self.path.read_text()!r}")


def last_packet_at(lines: list[str]) -> float:
    """Epoch seconds of the last packet in ``tcpdump -tt`` lines."""
    stamps = [float(line.split()[0]) for line in lines if line[:1].isdigit()]
    assert stamps, "no BFD packet captured from the peer"
    return stamps[-1]


def reported(log: Path, pattern: str, after: int) -> float | None:
    """The last figure a daemon logged for an expiry (ms), among lines past byte ``after``."""
    text = log.read_bytes()[after:].decode(errors="replace")
    found = re.findall(pattern, text)
    return float(found[-1]) if found else None
