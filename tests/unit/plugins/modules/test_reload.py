"""Reload after a change: SIGHUP to the pid in RUNTIME_DIR/pykeepalived.pid (a real process
that records the signals it gets), never to a stale pid; and check mode on a host without
the daemon."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from module_runner import snapshot

# The name matters: the modules only signal a pid whose command line mentions pykeepalived.
FAKE_DAEMON = """
import os, signal, sys, time
log = sys.argv[1]
def hup(signum, frame):
    with open(log, "a") as fh:
        fh.write("HUP\\n")
signal.signal(signal.SIGHUP, hup)
with open(log + ".ready", "w") as fh:
    fh.write(str(os.getpid()))
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    time.sleep(0.05)
"""


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def hups(log: Path) -> int:
    return log.read_text().count("HUP") if log.exists() else 0


def test_change_sends_sighup_to_the_running_daemon(runner, tmp_path):
    script = tmp_path / "fake-pykeepalived.py"
    script.write_text(FAKE_DAEMON)
    log = tmp_path / "signals.log"
    daemon = subprocess.Popen([sys.executable, str(script), str(log)])
    # (lives until the finally: under load the plays alone may outlast any fixed sleep)
    sleeper = subprocess.Popen(["sleep", "infinity"])
    try:
        assert wait_for(lambda: Path(str(log) + ".ready").exists())
        pidfile = runner.runtime_dir / "pykeepalived.pid"
        pidfile.write_text(f"{daemon.pid}\n")
        vi = {"name": "VI_1", "interface": "eth0", "vrid": 51, "vips": ["192.0.2.10/24"]}
        r = runner.play(dict(module="vrrp_instance", args=vi),                                  # change: HUP
                        dict(module="vrrp_instance", args=vi),                                  # no change: none
                        dict(module="vrrp_instance", args=dict(vi, priority=90), check=True),   # check mode: none
                        dict(module="vrrp_instance", args=dict(vi, priority=90, reload=False)))  # reload off: none
        assert [(x["changed"], x["reloaded"]) for x in r] == [(True, True), (False, False), (True, False), (True, False)]
        assert wait_for(lambda: hups(log) >= 1)
        time.sleep(0.2)
        assert hups(log) == 1 and daemon.poll() is None
        # A pid file naming a live process that is not pykeepalived is stale: no signal, a warning.
        pidfile.write_text(f"{sleeper.pid}\n")
        [stale] = runner.play(dict(module="vrrp_instance", args=dict(vi, priority=80)))
        assert stale["changed"] is True and stale["reloaded"] is False
        assert any("stale pid file" in w for w in stale["warnings"])
        assert sleeper.poll() is None and hups(log) == 1
    finally:
        for proc in (daemon, sleeper):
            proc.terminate()
            proc.wait(timeout=10)


def test_check_mode_without_the_daemon(runner, tmp_path):
    # PATH without the venv: no pykeepalived anywhere the module looks.
    env = {"PATH": "/usr/bin:/bin"}
    if any(os.access(os.path.join(d, "pykeepalived"), os.X_OK) for d in ("/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/sbin")):
        env = None
    missing = str(tmp_path / "nowhere" / "pykeepalived")
    vi = {"name": "VI_1", "interface": "eth0", "vrid": 51, "pykeepalived_bin": missing}
    before = snapshot(runner.config_dir)
    checked, applied = runner.play(dict(module="vrrp_instance", args=vi, check=True),
                                   dict(module="vrrp_instance", args=vi), env=env)
    assert checked["changed"] is True and not checked.get("failed")
    assert any("skipped validating" in w for w in checked["warnings"])
    if env is not None:
        assert applied["failed"] and "pykeepalived not found" in applied["msg"]
    assert snapshot(runner.config_dir) == before
