"""services/security.py with real files and permissions in tmp dirs; notify's run_script as another
user and its timeout killing the whole process group (root only for chown/setuid)."""
from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.services.notify import run_script
from pykeepalived.services.security import run_as, script_problems, unsafe_reason

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, setuid)")


def safe_dir(tmp_path: Path) -> Path:
    """A root-owned 0755 chain: tmp_path's parents are /tmp (sticky 1777: unsafe), so use /run."""
    d = Path("/run") / f"pyka-sec-{os.getpid()}-{tmp_path.name}"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    return d


def script(path: Path, mode: int = 0o755, body: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.write_text(body)
    os.chmod(path, mode)
    return path


def config(prog: Path, secure: bool) -> str:
    return (f"global_defs {{\n{'    enable_script_security' if secure else ''}\n}}\n"
            f"vrrp_script chk {{\n    script \"{prog} arg\"\n}}\n")


@root_only
def test_unsafe_reasons(tmp_path: Path) -> None:
    d = safe_dir(tmp_path)
    try:
        ok = script(d / "ok.sh")
        assert unsafe_reason(str(ok)) is None
        assert unsafe_reason("true") is None  # PATH lookup: /usr/bin/true
        assert "writable by others" in unsafe_reason(str(script(d / "w.sh", 0o757)))
        assert "writable by its group" in unsafe_reason(str(script(d / "g.sh", 0o775)))
        own = script(d / "own.sh")
        os.chown(own, 65534, 65534)
        assert "owned by uid 65534" in unsafe_reason(str(own))
        sub = d / "sub"
        sub.mkdir(mode=0o777)
        os.chmod(sub, 0o777)
        assert f"directory {sub}" in unsafe_reason(str(script(sub / "s.sh")))
        # a symlink from a safe place into /tmp: the resolved path's directories count too
        tmp_target = script(tmp_path / "t.sh")
        (d / "link.sh").symlink_to(tmp_target)
        assert "writable by non-root" in unsafe_reason(str(d / "link.sh"))
        assert "not found" in unsafe_reason("no-such-program-xyz")
    finally:
        for p in sorted(d.rglob("*"), reverse=True):
            p.unlink() if not p.is_dir() or p.is_symlink() else p.rmdir()
        d.rmdir()


@root_only
def test_config_refused_with_location_only_under_script_security(tmp_path: Path) -> None:
    bad = script(tmp_path / "bad.sh")  # under sticky /tmp: unsafe
    cfg, diags = loads_config(config(bad, secure=True), "/etc/k.conf")
    assert not diags.errors
    errors, warnings = script_problems(cfg)
    assert warnings == [] and len(errors) == 1
    assert errors[0].startswith("/etc/k.conf:5:12: error: unsafe script") and "writable by non-root" in errors[0]
    cfg, _ = loads_config(config(bad, secure=False), "/etc/k.conf")
    errors, warnings = script_problems(cfg)
    assert errors == [] and warnings[0].startswith("/etc/k.conf:5:12: warning: unsafe script")
    cfg, _ = loads_config(config(Path("/bin/true"), secure=True), "/etc/k.conf")
    assert script_problems(cfg) == ([], [])


def test_cli_t_reports_unsafe_script(tmp_path: Path) -> None:
    import io

    from pykeepalived.cli import check_config

    bad = script(tmp_path / "bad.sh", 0o777)
    conf = tmp_path / "k.conf"
    conf.write_text(config(bad, secure=True))
    buf = io.StringIO()
    assert check_config(str(conf), err=buf) == 1
    err = buf.getvalue()
    assert f"{conf}:5:12: error: unsafe script '{bad}'" in err


def test_run_as_precedence() -> None:
    cfg, _ = loads_config('global_defs {\n script_user nobody\n}\nvrrp_script a {\n script "/bin/true" daemon adm\n}\n'
                          'vrrp_script b {\n script "/bin/true"\n}\n')
    default = cfg.global_defs.script_user
    assert run_as(cfg.vrrp_scripts["a"].script, default) == ("daemon", "adm")
    assert run_as(cfg.vrrp_scripts["b"].script, default) == ("nobody", None)
    assert run_as(cfg.vrrp_scripts["b"].script, ()) == (None, None)


@root_only
def test_run_script_as_user_and_timeout_kills_the_group(tmp_path: Path) -> None:
    shared = Path(tempfile.mkdtemp(dir="/run"))  # /tmp/pytest-of-root is 0700: nobody cannot write there
    try:
        os.chmod(shared, 0o777)
        out = shared / "id"
        assert asyncio.run(run_script(("/bin/sh", "-c", f"id -u > {out}"), 5, user="nobody")) == 0
        assert out.read_text().strip() == "65534"
    finally:
        shutil.rmtree(shared)
    pidfile = tmp_path / "grandchild"
    t0 = time.monotonic()
    rc = asyncio.run(run_script(("/bin/sh", "-c", f"sleep 30 & echo $! > {pidfile}; wait"), 0.5))
    assert rc is None and time.monotonic() - t0 < 5
    gc = int(pidfile.read_text())
    for _ in range(50):
        if not Path(f"/proc/{gc}").exists() or Path(f"/proc/{gc}/stat").read_text().split()[2] == "Z":
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the script's background child survived the timeout")
    assert asyncio.run(run_script(("/bin/true",), 5, user="no-such-user-xyz")) is None
