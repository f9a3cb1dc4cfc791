"""tools/vip_load.py: the gap arithmetic (pure), and start/stop against a real HTTP server on
loopback that goes away in the middle (the failures and the answers are counted)."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "vip_load.py"
_spec = importlib.util.spec_from_file_location("vip_load", TOOL)
vip_load = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vip_load)


def test_longest_gap_runs_between_answers_and_counts_the_edges():
    samples = [(0.0, 0.01, "web1"), (0.05, 0.06, None), (0.10, 0.11, None), (0.15, 0.16, "web2"), (0.2, 0.21, "web1")]
    got = vip_load.summarize(samples, started=0.0, stopped=0.25)
    assert (got["requests"], got["answered"], got["failed"]) == (5, 3, 2)
    assert got["longest_gap"] == 0.15 and got["longest_gap_at"] == 0.01
    assert got["answers"] == {"web1": 2, "web2": 1}
    nothing = vip_load.summarize([(0.0, 1.0, None)], started=0.0, stopped=2.0)
    assert (nothing["failed"], nothing["longest_gap"]) == (1, 2.0)
    assert "longest gap without an answer  2000 ms" in vip_load.table(nothing)
    kinds = vip_load.summarize([(1.0, 1.1, None, "reset"), (1.2, 2.2, None, "timeout"), (2.3, 2.4, "web1", None)],
                               started=1.0, stopped=2.5)
    assert kinds["failures"] == {"reset": 1, "timeout": 1}
    assert (kinds["first_failure_at"], kinds["last_failure_end"], kinds["started_at"]) == (1.0, 2.2, 1.0)


def test_failure_kinds_from_what_the_client_saw():
    import urllib.error  # noqa: PLC0415
    assert vip_load.failure_kind(urllib.error.URLError(ConnectionRefusedError())) == "refused"
    assert vip_load.failure_kind(urllib.error.URLError(TimeoutError())) == "timeout"
    assert vip_load.failure_kind(TimeoutError()) == "timeout"
    assert vip_load.failure_kind(ConnectionResetError()) == "reset"
    assert vip_load.failure_kind(ValueError()) == "other"


def wait_for_result(state: Path, proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads((state / vip_load.RESULT).read_text())


def failed_so_far(state: Path) -> int:
    try:
        return json.loads((state / vip_load.PROGRESS).read_text())["failed"]
    except FileNotFoundError:
        return 0


def test_start_stop_counts_failures_when_the_server_goes(tmp_path: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("web1\n")
    access = tmp_path / "access.log"
    with open(access, "w") as fh:
        server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                   "--directory", str(tmp_path / "www")], stdout=fh, stderr=fh)
    state = tmp_path / "load"
    try:
        deadline = time.monotonic() + 20
        while subprocess.run([sys.executable, "-c", f"import urllib.request; urllib.request.urlopen("
                              f"'http://127.0.0.1:{port}/', timeout=1)"], capture_output=True, check=False).returncode:
            assert time.monotonic() < deadline, "http.server did not come up"
        started = subprocess.run([sys.executable, str(TOOL), "start", "--url", f"http://127.0.0.1:{port}/",
                                  "--state", str(state)], capture_output=True, text=True, timeout=30, check=False)
        assert started.returncode == 0, started.stderr
        log = state / vip_load.LOG
        # the load prints nothing before its stop: the server's access log shows it answered it
        deadline = time.monotonic() + 20
        while access.read_text().count('"GET / HTTP') < 3:  # the readiness probe made one
            assert time.monotonic() < deadline, "the load sent no request"
            time.sleep(0.05)
        server.terminate()
        server.wait(timeout=10)
        time.sleep(0.3)  # the gap the result must show, at the least
        deadline = time.monotonic() + 20
        while not failed_so_far(state):  # and a request that met the closed port, however loaded the machine
            assert time.monotonic() < deadline, "no request met the closed port"
            time.sleep(0.05)
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=10)
    stopped = subprocess.run([sys.executable, str(TOOL), "stop", "--state", str(state), "--json"],
                             capture_output=True, text=True, timeout=30, check=False)
    result = wait_for_result(state, stopped)
    assert json.loads(stopped.stdout) == result
    assert result["failed"] >= 1 and result["answered"] >= 1
    assert result["requests"] == result["answered"] + result["failed"]
    assert result["answers"] == {"web1": result["answered"]}
    # a closed port on loopback: refused; the one request in flight when the server exited: reset
    failures = result["failures"]
    assert failures.get("refused", 0) >= 1 and failures.get("reset", 0) <= 1, failures
    assert sum(failures.values()) == result["failed"] and set(failures) <= {"refused", "reset"}, failures
    assert result["longest_gap"] >= 0.3
    assert log.exists() and not (state / vip_load.PID).exists()
