"""RSS of the VRRP child across N reloads that each change one instance (issue 16 item 4; root).

    .venv/bin/python bench/reload_memory.py [--reloads 1000] [--daemon .venv/bin/pykeepalived]

Runs itself again under ``unshare --net`` (a private network namespace with one
veth, 192.0.2.0/24): one supervised daemon (parent, VRRP child, no checker
child) with two vrrp_instances that track a vrrp_script and their interface.
Each reload rewrites the file with VI_1's priority flipped 100 <-> 101 and asks
the parent over the control socket (the parent judges the file in a subprocess,
the child applies the snapshot: the real path of a SIGHUP).  Prints the VRRP
child's VmRSS (/proc/PID/status) after 10 warm-up reloads and every N/10 reloads
after that, then the growth per reload.  ``--daemon`` points at another install
(e.g. one from before the fix) to compare.

``--in-process`` runs the VRRP child's own reload path in this process instead
(``Daemon.reload`` of a supervised child: the snapshot the parent would write is
loaded, ``VrrpManager.apply``, ``heap.settle``) without the parent's judge
subprocess, which takes most of a reload's time: fast enough for 10,000.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pykeepalived.core.client import request

CONFIG = """vrrp_script chk {{
    script "/bin/true"
    interval 5
}}
vrrp_instance VI_1 {{
    interface d0
    virtual_router_id 51
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        192.0.2.100/24
    }}
    track_script {{
        chk
    }}
}}
vrrp_instance VI_2 {{
    interface d0
    virtual_router_id 52
    priority 100
    advert_int 1
    virtual_ipaddress {{
        192.0.2.101/24
    }}
    track_script {{
        chk
    }}
}}
"""


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def wait_for(predicate, what: str, bound: float = 60.0) -> None:
    end = time.monotonic() + bound
    while not predicate():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def make_link() -> None:
    """d0 (192.0.2.11/24) and its veth peer, in this private namespace."""
    for args in (("link", "add", "d0", "type", "veth", "peer", "name", "d1"),
                 ("addr", "add", "192.0.2.11/24", "dev", "d0"), ("link", "set", "d0", "up"),
                 ("link", "set", "d1", "up")):
        subprocess.run(["ip", *args], check=True)


def inside(reloads: int, daemon: str) -> None:
    run = Path(tempfile.mkdtemp(prefix="reload-memory-"))
    conf = run / "keepalived.conf"
    conf.write_text(CONFIG.format(priority=100))
    proc = subprocess.Popen([daemon, "-f", str(conf), "-n", "--runtime-dir", str(run)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        control = run / "control.sock"
        wait_for(lambda: (run / "vrrp.pid").exists() and control.exists(), "the daemon")
        child = int((run / "vrrp.pid").read_text())

        def reload(i: int) -> None:
            conf.write_text(CONFIG.format(priority=101 if i % 2 == 0 else 100))
            got = request(run, {"cmd": "reload"}, timeout=60).get("result", {})  # the one control client
            assert got.get("reloaded") and got["vrrp"]["changed"] == ["VI_1"], got

        for i in range(10):
            reload(i)
        rows = [(0, rss_kb(child))]
        started = time.monotonic()
        for i in range(1, reloads + 1):
            reload(9 + i)  # the next flip after the warm-up
            if i % max(1, reloads // 10) == 0:
                rows.append((i, rss_kb(child)))
        took = time.monotonic() - started
        assert int((run / "vrrp.pid").read_text()) == child, "the VRRP child restarted"
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"VRRP child pid {child}, {daemon}, {reloads} changing reloads in {took:.0f} s")
    report(rows, reloads)


def in_process(reloads: int) -> None:
    import asyncio  # noqa: PLC0415

    from pykeepalived.config.loader import loads_config  # noqa: PLC0415
    from pykeepalived.core import snapshot  # noqa: PLC0415
    from pykeepalived.core.daemon import Daemon  # noqa: PLC0415
    from pykeepalived.services.runfiles import RunFiles  # noqa: PLC0415

    run = Path(tempfile.mkdtemp(prefix="reload-memory-"))
    configs = [loads_config(CONFIG.format(priority=p))[0] for p in (101, 100)]
    ping_r, ping_w = os.pipe()  # a supervised child's ping pipe (never read: no tick task runs here)

    async def go() -> list[tuple[int, int]]:
        daemon = Daemon(configs[1], RunFiles(str(run)), str(run / "keepalived.conf"), vrrp=True, check=False,
                        ping_fd=ping_w)
        await daemon.vrrp.apply(configs[1])

        async def reload(i: int) -> None:
            snapshot.save(run, configs[i % 2])
            got = await daemon.reload()
            assert got["reloaded"] and got["vrrp"]["changed"] == ["VI_1"], got

        for i in range(10):
            await reload(i)
        rows = [(0, rss_kb(os.getpid()))]
        for i in range(1, reloads + 1):
            await reload(9 + i)
            if i % max(1, reloads // 10) == 0:
                rows.append((i, rss_kb(os.getpid())))
        await daemon.vrrp.stop()
        return rows

    started = time.monotonic()
    rows = asyncio.run(go())
    print(f"in process (the VRRP child's Daemon.reload), {reloads} changing reloads in "
          f"{time.monotonic() - started:.0f} s")
    report(rows, reloads)


def report(rows: list[tuple[int, int]], reloads: int) -> None:
    print(f"{'reloads':>8} {'VmRSS kB':>9}")
    for n, kb in rows:
        print(f"{n:>8} {kb:>9}")
    growth = rows[-1][1] - rows[0][1]
    print(f"growth: {growth} kB ({growth * 1024 / reloads:.0f} B per reload)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reloads", type=int, default=1000)
    p.add_argument("--daemon", default=str(Path(sys.executable).with_name("pykeepalived")))
    p.add_argument("--in-process", action="store_true", help="the child's reload path in this process")
    p.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.inside:
        make_link()
        in_process(args.reloads) if args.in_process else inside(args.reloads, args.daemon)
        return
    if os.geteuid() != 0:
        raise SystemExit("needs root (a private network namespace)")
    cmd = [sys.executable, __file__, "--inside", "--reloads", str(args.reloads), "--daemon", args.daemon,
           *(["--in-process"] if args.in_process else [])]
    raise SystemExit(subprocess.run(["unshare", "--net", *cmd], check=False).returncode)


if __name__ == "__main__":
    main()
