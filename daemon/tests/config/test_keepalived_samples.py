"""keepalived's own sample configs, as Debian's keepalived 2.2.7 package installs them.

Each sample is run through ``pykeepalived -t`` and, where this machine can
(root, unshare(1), /usr/sbin/keepalived), through keepalived's own ``-t`` in
a private network namespace that has the interfaces the samples name. The
table SAMPLES records both verdicts; docs/config-reference.md shows it
(``python daemon/tests/config/test_keepalived_samples.py`` prints it).

Every sample keepalived accepts, we must accept too; the ones we do not yet
are strict xfails naming the missing feature, so the table stays honest.

The samples are read where Debian's ``keepalived`` package installs them (tools/system-deps.sh
installs it; they are keepalived's files, not copied into this repository); without them the
module is skipped (the Debian 11/13 roots of ``make pyversions`` have no keepalived).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from pykeepalived.cli import check_config

HERE = Path(__file__).resolve().parent
SAMPLES_DIR = Path("/usr/share/doc/keepalived/samples")
DOC = HERE.parents[2] / "docs" / "config-reference.md"
KEEPALIVED = "/usr/sbin/keepalived"
# The interfaces the samples name; keepalived -t refuses a config naming one the machine lacks.
INTERFACES = ("eth0", "eth1", "eth2", "eth3", "eth0.1")


@dataclass(frozen=True)
class Sample:
    keepalived: str  # "" when keepalived 2.2.7 -t accepts it, else why it refuses
    ours: str = ""  # "" when pykeepalived -t accepts it, else phrases (|) one of which every error of ours contains
    missing: str = ""  # why we refuse, for the table: the feature we lack (an xfail when keepalived accepts)
    config_id: str | None = None  # -i ID for both daemons (None: the host name)


SAMPLES: dict[str, Sample] = {
    "HTTP_GET.port": Sample(""),
    "IPv6": Sample(""),
    "PING_CHECK": Sample(""),
    "SMTP_CHECK": Sample(""),
    "SSL_GET": Sample("`auth_type AH` with `state MASTER`", "auth_type AH is not supported", "`auth_type AH`"),
    "UDP_CHECK": Sample(""),
    "conditional_conf": Sample("", config_id="high"),
    "fwmark": Sample("`protocol` given with `fwmark`"),
    "inhibit": Sample(""),
    "misc_check": Sample(""),
    "misc_check_arg": Sample(""),
    "quorum": Sample(""),
    "sample": Sample(""),
    "status_code": Sample(""),
    "track_interface": Sample("route tracked with no interface"),
    "virtual_server_group": Sample(""),
    "virtualhost": Sample(""),
    "vrrp": Sample(""),
    "vrrp.localcheck": Sample("scripts without `enable_script_security` (exit 6)", "uses shell syntax",
                              "shell syntax in `script` (we run scripts without a shell)"),
    "vrrp.lvs_syncd": Sample("keepalived 1.x sync group syntax",
                             "missing required 'group'|unknown keyword 'VI_|'lvs_sync_daemon_interface' is not supported",
                             "keepalived 1.x sync group syntax, lvs_sync_daemon_interface"),
    "vrrp.routes": Sample("route tracked with no interface"),
    "vrrp.rules": Sample("invalid address `192.168.100./24` (line 11)", "/24' is not an IP address or prefix",
                         "invalid address `192.168.100./24` (lines 11 and 26)"),
    "vrrp.scripts": Sample(""),
    "vrrp.static_ipaddress": Sample("route tracked with no interface"),
    "vrrp.sync": Sample(""),
}


def sample_path(name: str) -> Path:
    return SAMPLES_DIR / f"keepalived.conf.{name}"


def run_ours(name: str) -> tuple[int, list[str]]:
    """``pykeepalived -t -f SAMPLE [-i ID]``: exit code and error lines."""
    err = io.StringIO()
    sample = SAMPLES[name]
    kwargs = {"config_id": sample.config_id} if sample.config_id else {}
    code = check_config(str(sample_path(name)), out=io.StringIO(), err=err, **kwargs)
    return code, [line for line in err.getvalue().splitlines() if ": error: " in line]


def run_keepalived(name: str) -> subprocess.CompletedProcess:
    """keepalived -t in a private network namespace holding the interfaces the samples name (veth pairs)."""
    links = "; ".join(f"ip link add {dev} type veth peer name kspeer{i} || exit 90"
                      for i, dev in enumerate(INTERFACES))
    ident = SAMPLES[name].config_id
    cmd = f'{links}; exec {KEEPALIVED} -t -l -n {"-i " + ident if ident else ""} -f "$0"'
    return subprocess.run(["unshare", "--net", "sh", "-c", cmd, str(sample_path(name))],
                          capture_output=True, text=True, timeout=60, check=False)


can_run_keepalived = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not os.access(KEEPALIVED, os.X_OK),
    reason="keepalived -t needs root, unshare(1) and Debian's keepalived")
pytestmark = pytest.mark.skipif(not (SAMPLES_DIR / "keepalived.conf.sample").is_file(),
                                reason=f"no keepalived samples in {SAMPLES_DIR} (apt-get install keepalived)")


def test_every_sample_is_classified() -> None:
    names = {p.name.removeprefix("keepalived.conf.") for p in SAMPLES_DIR.glob("keepalived.conf.*")}
    assert names == set(SAMPLES)


@can_run_keepalived
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_keepalived_verdict_is_as_recorded(name: str) -> None:
    proc = run_keepalived(name)
    assert proc.returncode != 90, proc.stderr  # the namespace could not be set up
    accepted = proc.returncode == 0
    assert accepted == (SAMPLES[name].keepalived == ""), proc.stdout + proc.stderr


def _accepted_params():
    for name, sample in sorted(SAMPLES.items()):
        if sample.keepalived:
            continue
        marks = [pytest.mark.xfail(reason=f"not in pykeepalived yet: {sample.missing}", strict=True)] \
            if sample.ours else []
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", list(_accepted_params()))
def test_what_keepalived_accepts_we_accept(name: str) -> None:
    code, errors = run_ours(name)
    assert code == 0 and not errors, errors


@pytest.mark.parametrize("name", sorted(n for n, s in SAMPLES.items() if s.ours))
def test_refused_for_the_reason_recorded(name: str) -> None:
    code, errors = run_ours(name)
    assert code == 1 and errors
    phrases = SAMPLES[name].ours.split("|")
    for line in errors:
        assert any(p in line for p in phrases), line


@pytest.mark.parametrize("name", sorted(n for n, s in SAMPLES.items() if not s.ours))
def test_accepted_as_recorded(name: str) -> None:
    code, errors = run_ours(name)
    assert code == 0, errors


def table() -> str:
    """The markdown table docs/config-reference.md carries."""
    rows = ["| Sample | keepalived 2.2.7 `-t` | pykeepalived `-t` |", "|---|---|---|"]
    for name, s in sorted(SAMPLES.items()):
        label = f"`{name}`" + (f" (`-i {s.config_id}`)" if s.config_id else "")
        theirs = f"refused: {s.keepalived}" if s.keepalived else "accepted"
        if not s.ours:
            ours = "accepted"
        elif not s.keepalived:
            ours = f"**refused: {s.missing} not implemented** (xfail)"
        else:
            ours = f"refused: {s.missing}"
        rows.append(f"| {label} | {theirs} | {ours} |")
    return "\n".join(rows) + "\n"


def test_doc_shows_the_table() -> None:
    assert table() in DOC.read_text(), "regenerate: python daemon/tests/config/test_keepalived_samples.py"


if __name__ == "__main__":
    print(table(), end="")
