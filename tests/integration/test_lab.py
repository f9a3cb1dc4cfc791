"""The multi-host lab itself: boot, reachability, multicast, ssh/Ansible, teardown, UML.

Run as root: .venv/bin/pytest tests/integration/test_lab.py
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import Lab, TopologyError, leftovers
from lab import topology as topo
from lab.pytest_plugin import unique_name
from lab.shell import alive, children

LAB_TOPOLOGY = "five"
REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

RECEIVER = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton("224.0.0.18") + socket.inet_aton(sys.argv[1]))
s.settimeout(10)
print("ready", flush=True)
data, addr = s.recvfrom(2048)
print(addr[0], data[20], data[21], flush=True)  # source, VRRP version/type, VRID
"""

SENDER = r"""
import socket, struct, sys
def checksum(b):
    total = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
# VRRPv2 advertisement: VRID 51, priority 100, one address, no auth, 1 s interval.
body = struct.pack("!BBBBBBH4s8x", 0x21, 51, 100, 1, 0, 1, 0, socket.inet_aton("192.0.2.254"))
packet = body[:6] + struct.pack("!H", checksum(body)) + body[8:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(sys.argv[1]))
s.sendto(packet, ("224.0.0.18", 0))
"""


def test_five_hosts_boot_with_systemd_and_sshd(lab: Lab) -> None:
    print(f"\n5-host lab up in {lab.timings['up']:.2f}s: {lab.states}")
    for host in lab.topology.hosts:
        state = lab.exec(host.name, ["systemctl", "is-system-running"], check=False).stdout.strip()
        assert state in ("running", "degraded"), host.name
        assert lab.exec(host.name, ["cat", "/proc/1/comm"]).stdout.strip() == "systemd"
        # ssh through the ProxyCommand with the lab key, as Ansible does
        assert lab.ssh(host.name, "hostname").stdout.strip() == host.name


def test_hosts_are_isolated_from_the_real_machine(lab: Lab) -> None:
    sysctl = lab.exec("lb1", ["sh", "-c", "echo 1 > /proc/sys/kernel/panic"], check=False)
    assert sysctl.returncode != 0 and "Read-only" in sysctl.stderr
    lab.exec("lb1", ["sysctl", "-qw", "net.ipv4.ip_forward=1"])  # per-netns: allowed
    assert lab.exec("lb1", ["systemctl", "is-enabled", "keepalived.service"],
                    check=False).stdout.strip() == "masked"
    lab.exec("web1", ["sh", "-c", "echo lab > /etc/hapair-lab-probe"])
    assert not Path("/etc/hapair-lab-probe").exists()
    assert lab.exec("web1", ["cat", "/proc/self/cgroup"]).stdout.strip().endswith("0::/lab-exec")
    machine_ids = {lab.exec(h.name, ["cat", "/etc/machine-id"]).stdout for h in lab.topology.hosts}
    assert len(machine_ids) == len(lab.topology.hosts)


def test_hosts_reach_each_other(lab: Lab) -> None:
    for host in lab.topology.hosts:
        if host.name != "client":
            lab.exec("client", ["ping", "-c1", "-W2", lab.address(host.name)])
    lab.exec("lb1", ["ping", "-c1", "-W2", "web2"])  # by name, through the lab's /etc/hosts


def test_copy_into_a_host(lab: Lab, tmp_path: Path) -> None:
    source = tmp_path / "note.txt"
    source.write_text("copied\n")
    lab.copy("web2", source, "/opt/lab/note.txt")
    assert lab.exec("web2", ["cat", "/opt/lab/note.txt"]).stdout == "copied\n"
    assert not Path("/opt/lab/note.txt").exists()


def test_vrrp_multicast_floods_over_the_bridge(lab: Lab) -> None:
    receivers = {}
    for name in ("lb2", "web1", "web2", "client"):
        proc = lab.popen(name, ["python3", "-c", RECEIVER, lab.address(name)],
                         stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        receivers[name] = proc
    with lab.capture("switch", "lan", "ip proto 112") as capture:
        lab.exec("lb1", ["python3", "-c", SENDER, lab.address("lb1")])
        got = {name: proc.communicate(timeout=10)[0].split() for name, proc in receivers.items()}
    assert all(words == [lab.address("lb1"), "33", "51"] for words in got.values()), got
    assert any("VRRPv2, Advertisement, vrid 51, prio 100" in line for line in capture.lines()), capture.lines()


def test_ansible_ping_over_ssh(lab: Lab) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "ansible"), "-i", str(lab.inventory), "all", "-m", "ping"],
        capture_output=True, text=True, timeout=180, cwd=lab.dir,
        env={**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_NOCOLOR": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(lab.topology.hosts)


def _assert_gone(name: str, pids: list[int]) -> None:
    assert leftovers(name) == []
    assert not any(line.startswith(f"hl-{name}.") for line in
                   subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n"))
    assert f"/run/hapair-lab/{name}" not in Path("/proc/self/mountinfo").read_text()
    assert not Path(f"/run/hapair-lab/{name}").exists()
    assert not any(alive(pid) for pid in pids), [p for p in pids if alive(p)]


def _busy_lab_pids(lab: Lab) -> list[int]:
    """Start things teardown must clean: a process in each host, an ssh ControlMaster."""
    pids = list(lab.pid1.values())
    for host in lab.topology.hosts:
        pids.append(lab.popen(host.name, ["sleep", "600"]).pid)
    master = subprocess.run(
        lab.ssh_argv("alpha")[:-1] + ["-fN", "-o", "ControlMaster=yes", "-o", "ControlPersist=600",
                                      "-o", f"ControlPath={lab.dir}/cp/test", "alpha"], timeout=30)
    assert master.returncode == 0
    return pids


def test_teardown_leaves_nothing_behind() -> None:
    name = unique_name("two-segments")
    with Lab("two-segments", name=name, owner_pid=os.getpid()) as lab:
        lab.exec("alpha", ["ping", "-c1", "-W2", lab.address("beta")])  # routed across segments
        lab.exec("beta", ["ping", "-c1", "-W2", lab.address("router", "eth0")])
        pids = _busy_lab_pids(lab)
    _assert_gone(name, pids)


def test_teardown_after_an_exception_in_the_body() -> None:
    name = unique_name("two-segments")
    pids: list[int] = []
    with pytest.raises(RuntimeError, match="test body failed"), \
            Lab("two-segments", name=name, owner_pid=os.getpid()) as lab:
        pids += _busy_lab_pids(lab)
        raise RuntimeError("test body failed")
    _assert_gone(name, pids)


def _comm(pid: int) -> str:
    """A process's name; empty when it exited meanwhile (set-up spawns short-lived helpers)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text()
    except FileNotFoundError:
        return ""


def _run_lab_cli(name: str) -> subprocess.Popen:
    """`python -m lab run` holding a lab until killed; returns once its command runs."""
    proc = subprocess.Popen([sys.executable, "-m", "lab", "run", "two-segments", "--name", name,
                             "--", "sleep", "600"], cwd=REPO, start_new_session=True)
    deadline = time.monotonic() + 30
    while not [c for c in children(proc.pid) if _comm(c) == "sleep\n"]:
        assert proc.poll() is None and time.monotonic() < deadline, "lab run did not start"
        time.sleep(0.05)
    return proc


def test_sigterm_tears_the_lab_down() -> None:
    name = unique_name("two-segments")
    proc = _run_lab_cli(name)
    pid1s = list(Lab.attach(name).pid1.values())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) != 0
    _assert_gone(name, pid1s)


def test_lab_down_removes_an_orphaned_lab() -> None:
    name = unique_name("two-segments")
    proc = _run_lab_cli(name)
    command = children(proc.pid)
    pid1s = list(Lab.attach(name).pid1.values())
    os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up
    proc.wait()
    for pid in command:  # the user's command (sleep), not part of the lab
        os.kill(pid, signal.SIGKILL)
    status = subprocess.run([sys.executable, "-m", "lab", "status", name], cwd=REPO,
                            capture_output=True, text=True)
    assert "orphaned" in status.stdout
    subprocess.run([sys.executable, "-m", "lab", "down", name], cwd=REPO, check=True)
    _assert_gone(name, pid1s)


def _inotify_instances(pid: int) -> int:
    return sum(1 for fd in Path(f"/proc/{pid}/fd").iterdir() if os.readlink(fd) == "anon_inode:inotify")


def _user_ns_owner(pid: int) -> int:
    """The uid that owns pid's user namespace (ioctl NS_GET_OWNER_UID)."""
    fd = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY)
    try:
        return struct.unpack("I", fcntl.ioctl(fd, 0xB704, bytes(4)))[0]
    finally:
        os.close(fd)


def test_hosts_in_user_namespaces_of_their_own() -> None:
    """user_namespaces: each systemd host's namespaces belong to a user namespace owned by
    a uid of its own (so its inotify instances are not root's), and it still acts as root
    over its network (an address, a net.* sysctl) and files (identity map)."""
    topology = topo.parse({"name": "userns", "user_namespaces": True, "hosts": {
        "ua": {"nics": {"eth0": "10.21.0.1/24"}}, "ub": {"nics": {"eth0": "10.21.0.2/24"}},
        "uc": {"systemd": False, "nics": {"eth0": "10.21.0.3/24"}}}})
    name = unique_name(topology)
    with Lab(topology, name=name, owner_pid=os.getpid()) as lab:
        owners = set()
        for host in ("ua", "ub"):
            pid1 = lab.pid1[host]
            assert os.readlink(f"/proc/{pid1}/ns/user") != os.readlink("/proc/self/ns/user")
            assert Path(f"/proc/{pid1}/uid_map").read_text().split() == ["0", "0", "4294967295"]
            owners.add(_user_ns_owner(pid1))
            assert lab.exec(host, ["systemctl", "is-system-running"], check=False).stdout.strip() == "running"
            # PID 1's three (cgroup events, /etc/localtime, utab); no path unit, no dbus
            assert _inotify_instances(pid1) == 3
            lab.exec(host, ["ip", "addr", "add", "10.21.0.100/32", "dev", "eth0"])
            lab.exec(host, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
            lab.exec(host, ["sh", "-c", "echo x > /etc/hapair-userns-test && stat -c %u /etc/hapair-userns-test"])
        assert len(owners) == 2 and 0 not in owners, owners
        lab.exec("uc", ["ping", "-c1", "-W2", "10.21.0.100"])
        lab.ssh("ub", "ping -c1 -W2 10.21.0.1")
        pids = list(lab.pid1.values())
    _assert_gone(name, pids)


def test_topology_rejects_addresses_outside_the_lab_ranges() -> None:
    with pytest.raises(TopologyError, match="outside the lab ranges"):
        topo.parse({"hosts": {"h": {"nics": {"eth0": "8.8.8.8/24"}}}})
    with pytest.raises(TopologyError, match="only net"):
        topo.parse({"hosts": {"h": {"sysctls": {"kernel.panic": 1}, "nics": {"eth0": "10.0.0.1/8"}}}})


def test_topology_round_trips_through_the_saved_copy() -> None:
    for name in ("five", "two-segments", "ipvs"):
        original = topo.load(name)
        copy = topo.parse(original.to_data())
        assert (copy.name, copy.segments, copy.hosts) == (original.name, original.segments, original.hosts)


def test_uml_guest_runs_ipvs_between_netns_backends(uml) -> None:
    result = uml([sys.executable, "-m", "lab.checks.ipvs_smoke"], topology="ipvs", timeout=180)
    print(f"\nUML guest: {result.seconds:.1f}s")
    assert result.returncode == 0, result.output
    report = json.loads(result.files["ipvs.json"])
    assert "TCP  192.0.2.80:80 rr" in report["ipvsadm"]
    assert "198.51.100.11:8080" in report["ipvsadm"] and "198.51.100.12:8080" in report["ipvsadm"]
    assert report["counts"] == {"web1": 3, "web2": 3}
