"""global_defs umask and the process names (keepalived 2.2): parsed with located errors, set by
the real daemon at start (read back from /proc and from the files it writes)."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.services import procattrs

from ..net.netns_probe import needs_netns
from .private_daemon import private_daemon


def parsed(body: str):
    return loads_config("global_defs {\n" + body + "}\n", "k.conf")


@pytest.mark.parametrize(("written", "mask"), [("022", 0o22), ("0x12", 0o22), ("18", 0o22), ("0", 0),
                                               ("IWGRP|IWOTH", 0o22), ("IRWXG", None), ("IRUSR | IXOTH", 0o401),
                                               ("IRGRP|IWGRP|IXGRP|IROTH|IWOTH|IXOTH", 0o77)])
def test_umask_reads_keepalived_s_forms(written: str, mask: int | None) -> None:
    config, diags = parsed(f"    umask {written}\n")
    if mask is None:  # IRWXG is not one of keepalived's bit names
        assert [str(e) for e in diags.errors] == ["k.conf:2:11: error: umask: expected a bit (IRUSR, IWGRP, ...), "
                                                  "got 'IRWXG'"]
    else:
        assert not diags.errors and config.global_defs.umask == mask


@pytest.mark.parametrize(("written", "col", "says"), [("0778", 11, "not a umask"), ("01000", 11, "not a umask"),
                                                      ("08", 11, "not a umask"), ("022 1", 15, "one number"),
                                                      ("IWGRP IWOTH", 17, "expected '|'"),
                                                      ("IWGRP|", 11, "missing after '|'")])
def test_umask_errors_say_where(written: str, col: int, says: str) -> None:
    _, diags = parsed(f"    umask {written}\n")
    assert len(diags.errors) == 1 and str(diags.errors[0]).startswith(f"k.conf:2:{col}: error: umask: ")
    assert says in str(diags.errors[0])


def test_names_fit_the_kernel_s_comm() -> None:
    _, diags = parsed("    vrrp_process_name 0123456789abcde\n    checker_process_name 0123456789abcdef\n")
    assert [str(e) for e in diags.errors] == [
        "k.conf:3:26: error: checker_process_name: '0123456789abcdef' longer than 15 bytes (the kernel's comm)"]
    config, _diags = parsed("    process_names\n    vrrp_process_name mine\n")
    g = config.global_defs
    assert [procattrs.name_for(g, r) for r in ("parent", "vrrp", "checker", "bfd")] == [
        None, "mine", "keepalived_lvs", "keepalived_bfd"]


def comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


@needs_netns
def test_the_daemon_names_itself_and_writes_with_the_umask(tmp_path: Path) -> None:
    run, conf = tmp_path / "run", tmp_path / "keepalived.conf"
    run.mkdir()
    conf.write_text("global_defs {\n    umask IWGRP|IRWXO\n    process_name ka-parent\n"
                    "    vrrp_process_name ka-vrrp\n}\n".replace("IRWXO", "IROTH|IWOTH|IXOTH"))
    with private_daemon(conf, run) as proc:
        child = int((run / "vrrp.pid").read_text())
        assert comm(proc.pid) == "ka-parent" and comm(child) == "ka-vrrp"
        for name in ("pykeepalived.pid", "vrrp.pid"):
            assert stat.S_IMODE(os.stat(run / name).st_mode) & 0o027 == 0, name
