"""Removing a lab, from its state dir and naming conventions, so it also cleans leftovers.

Every step tolerates objects that are already gone, and the order matters:
processes first (they pin namespaces and mounts), then mounts, cgroups,
namespaces, and the state dir last (only once nothing is mounted under it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

from . import paths
from .shell import alive, kill_pids, processes_mentioning, run, wait_gone

POWEROFF = signal.SIGRTMIN + 4  # systemd's "start poweroff.target"


def lab_netns(lab: str) -> list[str]:
    """The lab's network namespaces that exist now, the switch last."""
    listed = run(["ip", "netns", "list"], check=False).stdout.split("\n")
    names = [line.split()[0] for line in listed if line.strip()]
    mine = [n for n in names if paths.lab_of_netns(n) == lab]
    return sorted(mine, key=lambda n: n.endswith("." + paths.SWITCH))


def mounts_under(directory: Path) -> list[str]:
    """Mount points at or below directory, in mount order (unmount in reverse)."""
    prefix = str(directory).rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix) or point == prefix[:-1]:
                found.append(point)
    return found


def cgroup_pids(cgroup: Path) -> list[int]:
    """Every process in cgroup and its descendants."""
    pids: list[int] = []
    if not cgroup.is_dir():
        return pids
    for dirpath, _, _ in os.walk(cgroup):
        try:
            pids += [int(p) for p in (Path(dirpath) / "cgroup.procs").read_text().split()]
        except OSError:  # removed meanwhile (a shutting-down systemd prunes its tree): ENOENT/ENODEV
            continue
    return pids


def stop_processes(lab: str, grace: float = 3.0) -> None:
    """Power systemd hosts off, wait a little, then kill what is left, by PID."""
    cgroup = paths.lab_cgroup(lab)
    if cgroup.is_dir():
        pid1s = [pid for scope in cgroup.glob("*/init.scope") for pid in cgroup_pids(scope)[:1]]
        kill_pids(pid1s, POWEROFF)
        _wait_for_final_stage(pid1s, grace)
        left = [pid for pid in cgroup_pids(cgroup) if alive(pid)]
        if left:
            # cgroup.kill SIGKILLs every process below, even ones forking right now.
            (cgroup / "cgroup.kill").write_text("1")
            wait_gone(left, 5)
    for netns in lab_netns(lab):
        pids = [int(p) for p in run(["ip", "netns", "pids", netns], check=False).stdout.split()]
        kill_pids(pids)
        wait_gone(pids, 5)
    # ssh ControlMasters Ansible left behind: their socket dir names the lab.
    masters = processes_mentioning(str(paths.lab_dir(lab) / "cp"))
    kill_pids(masters)
    wait_gone(masters, 5)


def _wait_for_final_stage(pid1s: list[int], timeout: float) -> None:
    """Wait until each PID 1 is gone or has become systemd-shutdown (units all stopped).

    systemd-shutdown then waits up to 90 s for processes whose parents live
    outside the host (exec'd from the controller) to be reaped; nothing is
    lost by killing it at that point.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(not alive(pid) or _comm(pid) == "systemd-shutdow" for pid in pid1s):
            return
        time.sleep(0.02)


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()  # truncated to 15 chars
    except OSError:
        return ""


def unmount_lab(lab: str) -> None:
    for point in reversed(mounts_under(paths.lab_dir(lab))):
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "-l", point], check=False)


def remove_cgroups(lab: str) -> None:
    """rmdir leaf-first (cgroup dirs cannot be removed recursively)."""
    cgroup = paths.lab_cgroup(lab)
    if not cgroup.is_dir():
        return
    for dirpath, _, _ in sorted(os.walk(cgroup), key=lambda w: -len(w[0])):
        for _ in range(50):  # a dying process may keep its cgroup busy for a moment
            try:
                os.rmdir(dirpath)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)
    with contextlib.suppress(OSError):
        paths.cgroup_root().rmdir()  # only succeeds when no other lab is up


def delete_netns(lab: str) -> None:
    for netns in lab_netns(lab):
        run(["ip", "netns", "del", netns], check=False)


def teardown(lab: str) -> list[str]:
    """Remove everything of lab; return a list of problems (empty when all is clean)."""
    directory = paths.lab_dir(lab)
    errors = []
    # Each step runs even if an earlier one failed: a half teardown is the worst outcome.
    for step in (stop_processes, unmount_lab, remove_cgroups, delete_netns):
        try:
            step(lab)
        except Exception as err:  # noqa: BLE001 - reported, and the next step still runs
            errors.append(f"teardown step failed: {err!r}")
    problems = errors + leftovers(lab)
    if not mounts_under(directory) and directory.exists():
        shutil.rmtree(directory, ignore_errors=True)
    with contextlib.suppress(OSError):
        paths.STATE_ROOT.rmdir()
    return problems


def leftovers(lab: str) -> list[str]:
    """What of lab still exists (used by teardown and by tests)."""
    found = [f"netns {n}" for n in lab_netns(lab)]
    found += [f"mount {m}" for m in mounts_under(paths.lab_dir(lab))]
    if paths.lab_cgroup(lab).exists():
        found.append(f"cgroup {paths.lab_cgroup(lab)} pids {cgroup_pids(paths.lab_cgroup(lab))}")
    found += [f"process {p}" for p in processes_mentioning(str(paths.lab_dir(lab) / "cp"))]
    return found
