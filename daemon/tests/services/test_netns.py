"""keepalived's ``net_namespace NAME`` (services/netns.py): the daemon runs in /var/run/netns/NAME.

The end-to-end test runs in a private mount and network namespace (unshare), with a tmpfs over
/run/netns, so ``ip netns add`` there leaves nothing on the machine when the test ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.config.render import render
from pykeepalived.services import netns

BIN = Path(sys.executable).with_name("pykeepalived")
needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"),
                                reason="needs root, unshare(1) and ip(8)")

CONFIG = """net_namespace {ns}
vrrp_instance VI_1 {{
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {{
        192.0.2.100/24
    }}
}}
"""

# In the private namespaces: a named netns "blue" holding eth0, the daemon started outside it,
# then: the VIP appears on blue's eth0, the pid file in RUN/blue; TERM; the VIP is gone.
SCRIPT = r"""
set -e
mount -t tmpfs condsync-netns /run/netns 2>/dev/null || { mkdir -p /run/netns; mount -t tmpfs condsync-netns /run/netns; }
ip netns add blue
ip -n blue link set lo up
ip -n blue link add eth0 type veth peer name peer0
ip -n blue link set peer0 up
ip -n blue link set eth0 up
ip -n blue addr add 192.0.2.1/24 dev eth0
"$BIN" -n -l $MODE -f "$CONF" --runtime-dir "$RUN" >"$RUN.log" 2>&1 &
daemon=$!
for i in $(seq 200); do ip -n blue -4 addr show dev eth0 | grep -q 192.0.2.100 && break; sleep 0.1; done
ip -n blue -4 addr show dev eth0 | grep -q 192.0.2.100 || { echo "no VIP in blue"; kill $daemon; exit 3; }
echo "pidfile=$(cat "$RUN/blue/pykeepalived.pid") daemon=$daemon"
echo "outer_links=$(ip -o link show | wc -l)"
kill -TERM $daemon
wait $daemon || true
ip -n blue -4 addr show dev eth0 | grep -q 192.0.2.100 && { echo "VIP left behind"; exit 4; }
echo done
"""


def test_config_round_trip_and_top_level_only() -> None:
    config, diags = loads_config(CONFIG.format(ns="blue"))
    assert not diags.errors and config.net_namespace == "blue"
    assert render(config).startswith("net_namespace blue\n")
    _, diags = loads_config("global_defs {\n    net_namespace blue\n}\n" + CONFIG.format(ns="a/b"), "k.conf")
    assert [str(d) for d in diags.errors] == [
        "k.conf:2:5: error: 'net_namespace' is not valid in global_defs (it belongs in the top level)",
        "k.conf:4:15: error: net_namespace: 'a/b' is not a namespace name (a file name in /var/run/netns)"]


def test_runtime_dir_per_namespace() -> None:
    assert netns.runtime_dir_for("blue", "/run/pykeepalived") == "/run/pykeepalived/blue"
    assert netns.join_for(None, "/run/x") == "/run/x"


def test_missing_namespace_says_how_to_create_it() -> None:
    with pytest.raises(OSError, match=r"cannot open /var/run/netns/condsync-absent-ns: .*ip netns add"):
        netns.enter("condsync-absent-ns")


@needs_root
@pytest.mark.parametrize("mode", ["", "-P"], ids=["supervisor_and_children", "vrrp_alone"])
def test_daemon_runs_in_the_named_namespace(mode: str, tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(CONFIG.format(ns="blue"))
    env = {**os.environ, "BIN": str(BIN), "CONF": str(conf), "RUN": str(tmp_path / "run"), "MODE": mode}
    proc = subprocess.run(["unshare", "--mount", "--net", "--propagation", "private", "sh", "-c", SCRIPT],
                          capture_output=True, text=True, timeout=60, check=False, env=env)
    log = (tmp_path / "run.log").read_text() if (tmp_path / "run.log").exists() else ""
    assert proc.returncode == 0, proc.stdout + proc.stderr + log
    fields = dict(word.split("=") for line in proc.stdout.splitlines() for word in line.split() if "=" in word)
    assert fields["pidfile"] == fields["daemon"]  # RUN/blue/pykeepalived.pid is the daemon's
    assert fields["outer_links"] == "1"  # the outer namespace only has lo: eth0 was found in blue
    assert proc.stdout.rstrip().endswith("done")


@needs_root
def test_daemon_refuses_to_start_without_the_namespace(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(CONFIG.format(ns="condsync-absent-ns"))
    proc = subprocess.run(["unshare", "--net", str(BIN), "-n", "-l", "-P", "-f", str(conf),
                           "--runtime-dir", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert "net_namespace condsync-absent-ns: cannot open /var/run/netns/condsync-absent-ns" in proc.stderr
    assert "ip netns add condsync-absent-ns" in proc.stderr
