"""UDP_CHECK, SMTP_CHECK host { } and FILE_CHECK in the lab, against real servers (issue 15).

lb runs pykeepalived (its nftables plane, in lb's own netns) checking web1 and web2:

* UDP 5353 on web1: a real UDP echo server; stopped, web1's kernel answers ICMP port
  unreachable and the real server leaves the table; started again, it comes back;
* UDP 5353 on web2: ``require_reply`` with a pattern; the real server answering with
  other bytes (upper-cased) or not at all is down; FILE_CHECK on the same server moves
  its weight with the number written to the track_file;
* UDP 5353 on 198.51.100.99 (nobody): ARP fails, the kernel reports host unreachable
  (IP_RECVERR), down;
* SMTP 25 on web1 with two ``host`` blocks (aiosmtpd on web1 and web2, port 2525):
  down while either host's server is stopped; nothing listens on web1:25, which
  keepalived 2.2 does not check when the block sets no connection option itself.

Assertions read the daemon's status (pykeepalivedctl): health, weights, and the weights the
nftables backend reads back from lb's kernel (``kernel``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LAB_TOPOLOGY = HERE / "topology.yml"
BIN = Path(sys.executable).parent
WEB1, WEB2, NOBODY = "198.51.100.11", "198.51.100.12", "198.51.100.99"
UDP_VS, SMTP_VS = "UDP 192.0.2.80:53", "TCP 192.0.2.80:25"


def config(value_file: Path) -> str:
    return f"""global_defs {{
    lb_backend nftables
}}
track_file rs_value {{
    file {value_file}
    weight 4
}}
virtual_server 192.0.2.80 53 {{
    protocol UDP
    lb_algo wrr
    lb_kind NAT
    delay_loop 1
    real_server {WEB1} 5353 {{
        weight 3
        UDP_CHECK {{
            connect_timeout 1
            retry 0
        }}
    }}
    real_server {WEB2} 5353 {{
        weight 2
        UDP_CHECK {{
            connect_timeout 1
            retry 0
            payload 68 65 6c 6c 6f
            require_reply 68 65 6x
            min_reply_length 5
            max_reply_length 5
        }}
        FILE_CHECK {{
            track_file rs_value
        }}
    }}
    real_server {NOBODY} 5353 {{
        weight 1
        UDP_CHECK {{
            connect_timeout 6
            retry 0
        }}
    }}
}}
virtual_server 192.0.2.80 25 {{
    protocol TCP
    lb_algo wrr
    lb_kind NAT
    delay_loop 1
    real_server {WEB1} 25 {{
        weight 5
        SMTP_CHECK {{
            retry 0
            helo_name lb.lab.test
            host {{
                connect_ip {WEB1}
                connect_port 2525
                connect_timeout 2
            }}
            host {{
                connect_ip {WEB2}
                connect_port 2525
                connect_timeout 2
            }}
        }}
    }}
}}
"""


def wait_for(cond, timeout: float, message: str):
    end = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(message)
        time.sleep(0.1)


class Servers:
    """Real servers in the lab hosts, each started by the test and ended by its PID."""

    def __init__(self, lab) -> None:
        self.lab, self.procs = lab, {}

    def start(self, name: str, host: str, argv: list[str], ready) -> None:
        self.procs[name] = self.lab.popen(host, argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(ready, 20, f"{name} did not start")

    def udp(self, host: str, mode: str) -> None:
        addr = self.lab.address(host)
        self.start(f"udp-{host}", host, [sys.executable, str(HERE / "udp_server.py"), addr, "5353", mode],
                   lambda: f"{addr}:5353" in self.lab.exec(host, ["ss", "-lunH"]).stdout)

    def smtp(self, host: str) -> None:
        addr = self.lab.address(host)
        self.start(f"smtp-{host}", host, [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{addr}:2525"],
                   lambda: f"{addr}:2525" in self.lab.exec(host, ["ss", "-ltnH"]).stdout)

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.terminate()
        proc.wait(10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


class Lb:
    def __init__(self, lab, run: Path) -> None:
        self.lab, self.run = lab, run

    def status(self) -> dict:
        out = subprocess.run([str(BIN / "pykeepalivedctl"), "status", "--json", "--runtime-dir", str(self.run)],
                             capture_output=True, text=True, timeout=30, check=True)
        return json.loads(out.stdout)["result"]["lb"]

    def ready(self) -> bool:
        """The checker child answers (a child's start is a Python start: seconds on a loaded machine)."""
        out = subprocess.run([str(BIN / "pykeepalivedctl"), "status", "--json", "--runtime-dir", str(self.run)],
                             capture_output=True, text=True, timeout=30)
        return out.returncode == 0 and bool(json.loads(out.stdout)["result"].get("lb"))

    def server(self, vs: str, addr: str, port: int) -> dict:
        entry = next(v for v in self.status()["virtual_servers"] if v["virtual_server"] == vs)
        return next(r for r in entry["real_servers"] if (r["address"], r["port"]) == (addr, port))

    def wait(self, vs: str, addr: str, port: int, up: bool, timeout: float = 20, weight: int | None = None) -> dict:
        def matches():
            rs = self.server(vs, addr, port)
            ok = rs["up"] is up and (weight is None or rs["effective_weight"] == weight)
            return rs if ok else None
        return wait_for(matches, timeout, f"{addr}:{port} never became {'up' if up else 'down'} "
                                          f"(weight {weight}): {self.server(vs, addr, port)}")


@pytest.fixture(scope="module")
def env(lab, tmp_path_factory):
    run = tmp_path_factory.mktemp("checkers-run")
    value = run / "rs-value"
    value.write_text("0\n")
    (run / "keepalived.conf").write_text(config(value))
    servers = Servers(lab)
    servers.udp("web1", "echo")
    servers.udp("web2", "echo")
    servers.smtp("web1")
    servers.smtp("web2")
    log = (run / "pykeepalived.log").open("ab")
    daemon = lab.popen("lb", [str(BIN / "pykeepalived"), "-f", str(run / "keepalived.conf"), "-n", "-l",
                              "--runtime-dir", str(run)], stdout=log, stderr=log)
    lb = Lb(lab, run)
    try:
        wait_for(lambda: (run / "control.sock").exists(), 60, "no control socket")
        wait_for(lb.ready, 60, "the checker child never reported")
        yield lb, servers, value
    finally:
        daemon.terminate()
        daemon.wait(30)
        servers.stop_all()
        log.close()


def test_udp_port_unreachable_takes_the_server_out_and_back(env) -> None:
    lb, servers, _ = env
    rs = lb.wait(UDP_VS, WEB1, 5353, up=True, weight=3)
    assert rs["kernel"] and all(k["weight"] == 3 for k in rs["kernel"])
    servers.stop("udp-web1")  # web1's kernel now answers ICMP port unreachable
    lb.wait(UDP_VS, WEB1, 5353, up=False)
    wait_for(lambda: not lb.server(UDP_VS, WEB1, 5353)["kernel"], 10, "web1 stayed in lb's nft table")
    servers.udp("web1", "echo")
    lb.wait(UDP_VS, WEB1, 5353, up=True, weight=3)
    wait_for(lambda: lb.server(UDP_VS, WEB1, 5353)["kernel"], 10, "web1 never came back to lb's nft table")


def test_udp_require_reply_checks_the_bytes(env) -> None:
    lb, servers, _ = env
    lb.wait(UDP_VS, WEB2, 5353, up=True, weight=2)
    servers.stop("udp-web2")
    servers.udp("web2", "upper")  # answers HELLO: 48 45 ..., the pattern wants 68 65 6x
    lb.wait(UDP_VS, WEB2, 5353, up=False)
    servers.stop("udp-web2")
    servers.udp("web2", "silent")  # a reply is required: silence is down too
    lb.wait(UDP_VS, WEB2, 5353, up=False)
    checker = next(c for c in lb.status()["checkers"] if c["real_server"] == f"[{WEB2}]:udp:5353")
    wait_for(lambda: any(j["last"] == "no reply" for j in next(
        c for c in lb.status()["checkers"] if c["real_server"] == checker["real_server"])["checkers"]), 20,
        "the silent server never gave 'no reply'")
    servers.stop("udp-web2")
    servers.udp("web2", "echo")
    lb.wait(UDP_VS, WEB2, 5353, up=True, weight=2)


def test_file_check_moves_the_weight(env) -> None:
    lb, _, value = env
    lb.wait(UDP_VS, WEB2, 5353, up=True, weight=2)
    value.write_text("2\n")  # track_file weight 4: 2 + 2 * 4
    lb.wait(UDP_VS, WEB2, 5353, up=True, weight=10)
    wait_for(lambda: [k["weight"] for k in lb.server(UDP_VS, WEB2, 5353)["kernel"]] == [10], 10,
             "lb's nft table never got weight 10")
    value.write_text("0\n")
    lb.wait(UDP_VS, WEB2, 5353, up=True, weight=2)


def test_udp_host_unreachable_is_down(env) -> None:
    lb, _, _ = env
    rs = lb.wait(UDP_VS, NOBODY, 5353, up=False)
    assert not rs["in_table"] and not rs["kernel"]
    entry = next(c for c in lb.status()["checkers"] if c["real_server"] == f"[{NOBODY}]:udp:5353")
    assert entry["checkers"][0]["last"] == "No route to host", entry


def test_smtp_hosts_each_checked(env) -> None:
    lb, servers, _ = env
    lb.wait(SMTP_VS, WEB1, 25, up=True, weight=5)  # nothing on web1:25: only the hosts are checked
    entry = next(c for c in lb.status()["checkers"] if c["real_server"] == f"[{WEB1}]:tcp:25")
    assert [j["kind"] for j in entry["checkers"]] == ["SMTP_CHECK", "SMTP_CHECK"]
    servers.stop("smtp-web2")
    lb.wait(SMTP_VS, WEB1, 25, up=False)
    servers.smtp("web2")
    lb.wait(SMTP_VS, WEB1, 25, up=True, weight=5)
