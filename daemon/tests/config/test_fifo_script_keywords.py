"""global_defs vrrp_notify_fifo_script and lvs_notify_fifo_script (keepalived 2.2): each reads its own
fifo (its path: the last argument), started with the fifo and terminated at exit; real scripts."""
from __future__ import annotations

import asyncio
from pathlib import Path

from pykeepalived.check.health import notifier_for
from pykeepalived.check.notify import rs_line
from pykeepalived.config.loader import loads_config
from pykeepalived.services.fifo import NotifyFifos, fifo_line

READER = '#!/bin/sh\necho "$0 $1" >> {out}\nexec cat "$1" >> {out}\n'


def reader(tmp_path: Path, name: str) -> tuple[Path, Path]:
    out, script = tmp_path / f"{name}.seen", tmp_path / f"{name}.sh"
    script.write_text(READER.format(out=out))
    script.chmod(0o755)
    return script, out


async def until(pred, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.02)


def test_vrrp_notify_fifo_script_reads_vrrp_notify_fifo(tmp_path: Path) -> None:
    both, both_out = reader(tmp_path, "all")
    vrrp, vrrp_out = reader(tmp_path, "vrrp")
    config, diags = loads_config(f"global_defs {{\n    notify_fifo {tmp_path}/all.fifo\n    notify_fifo_script {both}\n"
                                 f"    vrrp_notify_fifo {tmp_path}/vrrp.fifo\n    vrrp_notify_fifo_script {vrrp}\n}}\n")
    assert not diags.errors, [str(e) for e in diags.errors]
    fifos = NotifyFifos(config.global_defs)

    async def run() -> None:
        await fifos.open()
        fifos.write(fifo_line("INSTANCE", "VI_1", "MASTER", 150))
        await until(lambda: all(o.exists() and "MASTER" in o.read_text() for o in (both_out, vrrp_out)))
        await fifos.close()

    asyncio.run(run())
    assert vrrp_out.read_text().splitlines() == [f"{vrrp} {tmp_path}/vrrp.fifo", 'INSTANCE "VI_1" MASTER 150']
    assert both_out.read_text().splitlines() == [f"{both} {tmp_path}/all.fifo", 'INSTANCE "VI_1" MASTER 150']
    assert len(fifos.scripts.started) == 2 and all(p.returncode is not None for p in fifos.scripts.started)
    assert not (tmp_path / "vrrp.fifo").exists()


def test_lvs_notify_fifo_script_reads_lvs_notify_fifo(tmp_path: Path) -> None:
    lvs, lvs_out = reader(tmp_path, "lvs")
    config, diags = loads_config(f"global_defs {{\n    lvs_notify_fifo {tmp_path}/lvs.fifo\n"
                                 f"    lvs_notify_fifo_script {lvs}\n}}\n"
                                 "virtual_server 192.0.2.10 80 {\n    protocol TCP\n"
                                 "    real_server 127.0.0.1 8080 {\n    }\n}\n")
    assert not diags.errors, [str(e) for e in diags.errors]
    vs = config.virtual_servers[0]

    async def run():
        notifier = notifier_for(config)
        await notifier.start_fifo_scripts()
        notifier.rs_changed(vs, vs.real_servers[0], False)
        await until(lambda: lvs_out.exists() and "DOWN" in lvs_out.read_text())
        await notifier.close()
        return notifier

    notifier = asyncio.run(run())
    assert lvs_out.read_text().splitlines() == [f"{lvs} {tmp_path}/lvs.fifo",
                                                rs_line(vs, vs.real_servers[0], False).strip()]
    [proc] = notifier.readers.started
    assert proc.returncode is not None
