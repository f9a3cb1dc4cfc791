"""hapair.keepalived.sysctl in real ansible-playbook runs, on a stand-in /proc/sys tree."""

from __future__ import annotations

from pathlib import Path


def proc_tree(root: Path, values: dict) -> Path:
    for key, value in values.items():
        path = root.joinpath(*key.split("."))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{value}\n")
    return root


def kernel(root: Path, key: str) -> str:
    return root.joinpath(*key.split(".")).read_text().strip()


def test_set_record_before_drop_a_key_and_undo_everything(runner, tmp_path):
    proc = proc_tree(tmp_path / "proc", {
        "net.ipv4.ip_forward": 0, "net.ipv4.ip_nonlocal_bind": 0, "net.ipv4.tcp_rmem": "4096\t131072\t6291456"})
    conf = tmp_path / "60-pykeepalived.conf"
    both = {"net.ipv4.ip_forward": 1, "net.ipv4.ip_nonlocal_bind": True, "net.ipv4.tcp_rmem": "4096 131072  6291456"}

    def step(**args):
        return dict(module="sysctl", bare=True, args=dict(path=str(conf), proc_root=str(proc), **args))

    r = runner.play(dict(step(values=both), check=True, diff=True), step(values=both), step(values=both))
    assert [x["changed"] for x in r] == [True, True, False], r
    assert r[0]["kernel"] == {"net.ipv4.ip_forward": "1", "net.ipv4.ip_nonlocal_bind": "1"}  # tcp_rmem equal
    assert (kernel(proc, "net.ipv4.ip_forward"), kernel(proc, "net.ipv4.ip_nonlocal_bind")) == ("1", "1")
    text = conf.read_text()
    assert "# before: net.ipv4.ip_forward = 0\nnet.ipv4.ip_forward = 1\n" in text, text
    # a key no longer wanted goes back to its value from before; the file keeps the first "before"
    r = runner.play(step(values={"net.ipv4.ip_nonlocal_bind": 1}), step(values={"net.ipv4.ip_nonlocal_bind": 1}))
    assert [x["changed"] for x in r] == [True, False] and r[0]["kernel"] == {"net.ipv4.ip_forward": "0"}
    assert kernel(proc, "net.ipv4.ip_forward") == "0" and "ip_forward" not in conf.read_text()
    r = runner.play(step(state="absent"), step(state="absent"))
    assert [x["changed"] for x in r] == [True, False]
    assert kernel(proc, "net.ipv4.ip_nonlocal_bind") == "0" and not conf.exists()


def test_a_bad_key_fails_naming_it(runner, tmp_path):
    proc = proc_tree(tmp_path / "proc", {})
    args = dict(path=str(tmp_path / "x.conf"), proc_root=str(proc), values={"net.ipv4.no_such_key": 1})
    r = runner.play(dict(module="sysctl", bare=True, args=args))
    assert r[0]["failed"] and "net.ipv4.no_such_key" in r[0]["msg"], r
