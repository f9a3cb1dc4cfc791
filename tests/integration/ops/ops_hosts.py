"""Helpers for the operations lab tests: ctl calls inside a host, log waits, netlink watching."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from lab import Lab

CTL = str(Path(sys.executable).with_name("pykeepalivedctl"))
PYKEEPALIVED = str(Path(sys.executable).with_name("pykeepalived"))

# a stdlib-only client any user can run (the venv's python lives under /root)
RAW_CLIENT = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect:", e); sys.exit(3)
s.sendall(b'{"v": 1, "cmd": "status"}\n')
print(s.recv(65536).decode().strip())
"""

FUZZ_CLIENT = r"""
import json, random, socket, sys
rng = random.Random(int(sys.argv[2]))
answered = 0
for conn in range(20):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    f = s.makefile("rwb")
    for i in range(50):
        k = rng.randrange(4)
        if k == 0:
            line = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))).replace(b"\n", b"")
        elif k == 1:
            line = json.dumps({"v": rng.choice([1, 2, None, "1"]), "cmd": rng.choice(
                ["status", "drain", "undrain", "set-weight", "wait-drain", "x", None]),
                "address": rng.choice(["192.0.2.21", "::1", "", None, 5, "a" * 300]),
                "port": rng.choice([80, -1, 70000, "80", None]), "weight": rng.choice([0, 1, -3, None, 1.5]),
                "timeout": rng.choice([0, 0.01, -1, "x"])}).encode()
        elif k == 2:
            line = json.dumps(rng.choice([[], {}, None, 1, "status", {"v": 1}])).encode()
        else:
            line = b'{"v": 1, "cmd": "status"' [: rng.randrange(1, 24)]
        if not line.strip():
            continue
        f.write(line + b"\n"); f.flush()
        reply = json.loads(f.readline())
        assert "ok" in reply, reply
        answered += 1
    if conn % 5 == 4:  # hang up mid-request
        f.write(b'{"v": 1, "cm'); f.flush()
    s.close()
print(answered)
"""


def ctl(lab: Lab, host: str, run_dir: str, *args: str, user: str | None = None, check: bool = False):
    return lab.exec(host, [CTL, *args, "--runtime-dir", run_dir], check=check, timeout=120)


def ctl_json(lab: Lab, host: str, run_dir: str, *args: str) -> dict:
    out = ctl(lab, host, run_dir, *args, "--json")
    return json.loads(out.stdout)


def instance(status: dict, name: str) -> dict:
    return next(i for i in status["result"]["vrrp"]["instances"] if i["name"] == name)


def wait_log(path: Path, text: str, timeout: float = 10.0, count: int = 1) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        data = path.read_text(errors="replace") if path.exists() else ""
        if data.count(text) >= count:
            return data
        time.sleep(0.05)
    raise AssertionError(f"{text!r} (x{count}) not in {path} within {timeout} s:\n{data[-3000:]}")


def wait_children_up(lab: Lab, host: str, run_dir: str, timeout: float = 60.0) -> None:
    """Until every child of the daemon reports (its status says ``up``): a child's start is a
    Python start, seconds on a loaded machine, and is not what a test after it measures."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        out = ctl(lab, host, run_dir, "status", "--json")
        if out.returncode == 0:
            children = json.loads(out.stdout)["result"].get("children") or {}
            if children and all(c.get("up") for c in children.values()):
                return
        time.sleep(0.1)
    raise AssertionError(f"the daemon's children on {host} did not come up within {timeout} s")
