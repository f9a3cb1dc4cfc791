"""``pykeepalived -t`` and ``pykeepalivedctl`` as a user runs them (real processes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

GOOD = """vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        192.0.2.10/24 dev eth0
    }
}
"""


def run(*args: str) -> subprocess.CompletedProcess:
    code = "import sys; from pykeepalived.cli import main, ctl_main; sys.exit({}(sys.argv[2:]))"
    entry = "ctl_main" if args[0] == "ctl" else "main"
    return subprocess.run([sys.executable, "-c", code.format(entry), *args], capture_output=True, text=True, timeout=60)


def test_valid_config_exits_zero_and_dumps_json(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(GOOD)
    proc = run("daemon", "-t", "--dump-json", "-f", str(conf))
    assert proc.returncode == 0, proc.stderr
    model = json.loads(proc.stdout)
    inst = model["vrrp_instances"]["VI_1"]
    assert (inst["virtual_router_id"], inst["priority"], inst["advert_int"]) == (51, 150, 1.0)
    assert inst["virtual_ipaddress"][0]["address"] == "192.0.2.10/24"


def test_invalid_config_exits_nonzero_with_file_line_col(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(GOOD.replace("priority 150", "priority 256").replace("interface eth0", "interfase eth0"))
    proc = run("daemon", "-t", "-f", str(conf))
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert f"{conf}:2:5: error: unknown keyword 'interfase' in vrrp_instance; did you mean 'interface'?" in lines
    assert f"{conf}:4:5: error: priority: value must be at most 255 (got 256)" in lines


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    proc = run("daemon", "-t", "-f", str(tmp_path / "nope.conf"))
    assert proc.returncode == 1 and "cannot read" in proc.stderr


def test_ctl_format_prints_canonical_config(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("vrrp_instance VI_1 { interface eth0 virtual_router_id 51 priority 150 "
                    "virtual_ipaddress { 192.0.2.10/24 dev eth0 } }\n")
    proc = run("ctl", "format", "-f", str(conf))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == GOOD


def test_undecodable_byte_and_nul_are_located_errors_not_tracebacks(tmp_path: Path) -> None:
    cases = {"ff.conf": (b"192.0.2.\xff/24", "6:17: error: invalid UTF-8 byte 0xff"),
             "nul.conf": (b"192.0.\x002.10/24", "6:15: error: control character NUL (0x00)")}
    for name, (address, where) in cases.items():
        conf = tmp_path / name
        conf.write_bytes(GOOD.encode().replace(b"192.0.2.10/24", address))
        proc = run("daemon", "-t", "-f", str(conf))
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        assert proc.stderr.splitlines()[0].startswith(f"{conf}:{where}"), proc.stderr
        assert proc.stderr.splitlines()[-1] == f"{conf}: 1 error; configuration rejected"
