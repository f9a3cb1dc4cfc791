"""MISC_CHECK with real scripts in a temporary directory (run without a shell)."""

import asyncio
import textwrap

from pykeepalived.check.misc import MiscChecker

from .helpers import aio


def script(tmp_path, name, body):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return str(path)


@aio
async def test_exit_codes(tmp_path):
    ok, fail = script(tmp_path, "ok", "exit 0\n"), script(tmp_path, "fail", "exit 1\n")
    assert (await MiscChecker((ok,), 2).check()).ok
    assert not (await MiscChecker((fail,), 2).check()).ok


@aio
async def test_arguments_are_passed_without_a_shell(tmp_path):
    out = tmp_path / "out"
    prog = script(tmp_path, "args", f'printf "%s|" "$@" > {out}\n')
    assert (await MiscChecker((prog, "a b", "$HOME", ";", "*"), 2).check()).ok
    assert out.read_text() == "a b|$HOME|;|*|"


@aio
async def test_dynamic_weight(tmp_path):
    prog = script(tmp_path, "dyn", "exit 12\n")
    result = await MiscChecker((prog,), 2, dynamic=True).check()
    assert result.ok and result.weight == 10
    assert not (await MiscChecker((prog,), 2, dynamic=False).check()).ok
    assert not (await MiscChecker((script(tmp_path, "one", "exit 1\n"),), 2, dynamic=True).check()).ok


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@aio
async def test_timeout_kills_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "child.pid"
    prog = script(tmp_path, "slow", f"sleep 30 &\necho $! > {pidfile}\nwait\n")
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await MiscChecker((prog,), 0.5).check()
    assert not result.ok and "timeout" in result.reason and loop.time() - start < 3
    child = int(pidfile.read_text())
    for _ in range(50):  # the orphaned sleep was killed with its group (gone, or a zombie)
        if not alive(child):
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("background child of the script survived the timeout")


@aio
async def test_missing_program_fails(tmp_path):
    result = await MiscChecker((str(tmp_path / "nope"),), 1).check()
    assert not result.ok and "cannot run" in result.reason
