"""Hostile clients of pykeepalived's control socket (run inside a lab host as a script).

argv: attack RUNTIME_DIR CTL   -- every attack in turn, a ``CTL status`` after each; prints one JSON object
      hold RUNTIME_DIR         -- one client that asks for status, prints "held", then waits for the
                                  server to close (prints "closed") -- for a stop with a client connected
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time

NOBODY = 65534
BIG = 10 * 1024 * 1024
IDLE = 100
MALFORMED = [b"not json", b"[1, 2]", b'"a string"', b"{}", b'{"v": 2, "cmd": "status"}', b'{"v": "1", "cmd": "status"}',
             b'{"v": true, "cmd": "status"}', b'{"v": 1}', b'{"v": 1, "cmd": "shutdown"}', b'{"v": 1, "cmd": 7}',
             b'{"v": 1, "cmd": "drain"}', b'{"v": 1, "cmd": "drain", "address": 5}',
             b'{"v": 1, "cmd": "set-weight", "address": "192.0.2.21", "weight": "x"}',
             b'{"v": 1, "cmd": "wait-drain", "address": "192.0.2.21", "timeout": -1}',
             b'{"v": 1, "cmd": "resign", "instances": "VI_1"}', b"\xff\xfe\x00garbage", b"{" * 5000,
             b'{"v": 1e999, "cmd": "status"}', b'{"v": 1, "cmd": "status"', b"\x00" * 100]


def status(runtime: str, ctl: str) -> tuple[bool, float]:
    t0 = time.monotonic()
    out = subprocess.run([ctl, "status", "--runtime-dir", runtime], capture_output=True, text=True, timeout=30,
                         check=False)
    return out.returncode == 0 and "VI_1" in out.stdout, time.monotonic() - t0


def connect(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def read_line(s: socket.socket) -> bytes:
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def as_nobody(path: str) -> str:
    """Connect and ask for status as uid 65534 in a child process; what it got."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, try
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            s = connect(path)
            s.sendall(b'{"v": 1, "cmd": "status"}\n')
            got = read_line(s).decode(errors="replace").strip() or "closed without a reply"
        except OSError as err:
            got = f"connect refused: {os.strerror(err.errno or 0)}"
        os.write(w, got.encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        got = f.read().decode()
    os.waitpid(pid, 0)
    return got


def big_line(path: str) -> str:
    """10 MB without a newline, sent while reading the answer (the server answers after its limit)."""
    s = connect(path)

    def send() -> None:
        with contextlib.suppress(OSError):  # the server closes after its answer: expected
            s.sendall(b"x" * BIG + b"\n")

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        got = read_line(s).decode(errors="replace").strip()
    finally:
        sender.join(10)
        s.close()
    return got


def malformed(path: str, count: int) -> tuple[int, int]:
    """``count`` malformed lines on one connection: (error replies, ok replies)."""
    s = connect(path)
    errors = oks = 0
    f = s.makefile("rb")
    for n in range(count):
        s.sendall(MALFORMED[n % len(MALFORMED)] + b"\n")
        reply = json.loads(f.readline())
        errors += reply.get("ok") is False
        oks += reply.get("ok") is True
    s.close()
    return errors, oks


def attack(runtime: str, ctl: str) -> dict:
    path = os.path.join(runtime, "control.sock")
    out: dict = {"status": []}

    def check(after: str) -> None:
        ok, took = status(runtime, ctl)
        out["status"].append({"after": after, "ok": ok, "seconds": round(took, 3)})

    out["nobody, socket 0600"] = as_nobody(path)
    os.chmod(path, 0o666)  # past the file mode: the daemon's own uid check (SO_PEERCRED) must refuse
    try:
        out["nobody, socket 0666"] = as_nobody(path)
    finally:
        os.chmod(path, 0o600)
    check("non-root clients")
    out["10 MB line"] = big_line(path)
    check("10 MB line")
    idle = [connect(path) for _n in range(IDLE)]
    for n in range(10):
        check(f"{IDLE} idle clients ({n + 1})")
    out["malformed"] = malformed(path, 200)
    check("200 malformed lines")
    for s in idle:
        s.close()
    check("idle clients gone")
    return out


def hold(runtime: str) -> None:
    s = connect(os.path.join(runtime, "control.sock"))
    s.sendall(b'{"v": 1, "cmd": "status"}\n')
    print("held" if read_line(s) else "no reply", flush=True)
    s.settimeout(60)
    print("closed" if not s.recv(1) else "data", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "attack":
        print(json.dumps(attack(sys.argv[2], sys.argv[3])))
    else:
        hold(sys.argv[2])
