"""global_defs startup_script / shutdown_script (keepalived 2.2): parsed with located errors,
run once by the parent, before its children start and after they have stopped."""
from __future__ import annotations

import time
from pathlib import Path

from pykeepalived.config.loader import loads_config
from pykeepalived.services import startstop

from ..net.netns_probe import needs_netns
from .private_daemon import private_daemon


def parsed(body: str):
    return loads_config("global_defs {\n" + body + "}\n", "k.conf")


def test_keywords_ranges_and_defaults() -> None:
    config, diags = parsed("    startup_script \"/bin/true x\" nobody\n    shutdown_script /bin/false\n"
                           "    shutdown_script_timeout 1000\n")
    assert not diags.errors, [str(e) for e in diags.errors]
    g = config.global_defs
    assert g.startup_script.argv == ("/bin/true", "x") and g.startup_script.user == "nobody"
    assert (g.startup_script_timeout, g.shutdown_script_timeout) == (10, 1000)
    assert str(g.startup_script.loc) == "k.conf:2:20"
    _, diags = parsed("    startup_script_timeout 0\n    shutdown_script_timeout 1001\n    startup_script\n"
                      "    shutdown_script \"a && b\"\n")
    got = sorted(str(e) for e in diags.errors)
    assert [e.split(": error: ")[0] for e in got] == ["k.conf:2:5", "k.conf:3:5", "k.conf:4:5", "k.conf:5:21"]
    assert "at least 1" in got[0] and "at most 1000" in got[1] and "shell syntax" in got[3]


def test_status_is_returned_and_a_failure_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "ran"
    config, _diags = parsed(f"    startup_script \"/bin/sh -c 'echo $0 > {out}; exit 3'\"\n")
    assert startstop.run("startup", config.global_defs) == 3
    assert out.read_text() == "/bin/sh\n"
    assert startstop.run("shutdown", config.global_defs) is None  # none configured


def test_a_script_past_its_timeout_is_killed_with_its_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    # the script ignores SIGTERM and leaves a child in its group: SIGKILL 2 s later takes both
    config, _diags = parsed(f"    shutdown_script \"/bin/sh -c 'trap \\\"\\\" TERM; sleep 100 & echo $$ $! > {pids}; wait'\"\n"
                       "    shutdown_script_timeout 1\n")
    assert startstop.run("shutdown", config.global_defs) is None
    # SIGKILL is delivered asynchronously: a killed process may still be running its exit when
    # run() returns; what must follow is its death (gone, or a zombie until init reaps the orphan)
    deadline = time.monotonic() + 30
    for pid in map(int, pids.read_text().split()):
        while _state(pid) not in (None, "Z") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _state(pid) in (None, "Z"), pid


def _state(pid: int) -> str | None:
    """/proc/PID/stat's state letter; None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


@needs_netns
def test_the_parent_runs_them_around_its_children(tmp_path: Path) -> None:
    """A real supervised daemon (private netns): the startup script sees no child and no
    control socket yet, the shutdown script no child left."""
    run = tmp_path / "run"
    run.mkdir()
    conf = tmp_path / "keepalived.conf"
    conf.write_text("global_defs {\n"
                    f"    startup_script \"/bin/sh -c 'ls {run} > {tmp_path}/at-start'\"\n"
                    f"    shutdown_script \"/bin/sh -c 'ls {run} > {tmp_path}/at-stop'\"\n}}\n")
    with private_daemon(conf, run):
        at_start = (tmp_path / "at-start").read_text().split()
    assert "pykeepalived.pid" in at_start and "vrrp.pid" not in at_start and "control.sock" not in at_start
    at_stop = (tmp_path / "at-stop").read_text().split()
    assert "pykeepalived.pid" in at_stop and "vrrp.pid" not in at_stop
