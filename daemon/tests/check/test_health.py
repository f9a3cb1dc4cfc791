"""HealthChecker end to end: a keepalived.conf, real servers and scripts, on_change, fifo and notify scripts."""

import asyncio
import dataclasses
import os
import textwrap

from pykeepalived.check.health import HealthChecker, notifier_for
from pykeepalived.config.loader import loads_config
from pykeepalived.lb.loop import LbLoop
from pykeepalived.lb.memory import MemoryBackend

from .helpers import aio, free_port


class Toggle:
    """A TCP listener on a fixed port that a test switches on and off."""

    def __init__(self) -> None:
        self.port, self.server = free_port(), None

    async def on(self) -> None:
        self.server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", self.port)

    async def off(self) -> None:
        self.server.close()
        await self.server.wait_closed()


def config(text: str):
    cfg, diags = loads_config(textwrap.dedent(text))
    assert not diags.items, diags.items
    return cfg


async def until(pred, timeout=3.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.01)


def read_fifo(fd) -> list[str]:
    try:
        return os.read(fd, 65536).decode().splitlines()
    except BlockingIOError:
        return []


@aio
async def test_down_after_retries_up_after_one_success_with_fifo_and_scripts(tmp_path):
    srv = Toggle()
    await srv.on()
    fifo = tmp_path / "lvs.fifo"
    cfg = config(f"""
        global_defs {{
          lvs_notify_fifo {fifo}
        }}
        virtual_server 192.0.2.10 80 {{
          protocol TCP
          delay_loop 0.1
          quorum 1
          real_server 127.0.0.1 {srv.port} {{
            notify_up "/bin/touch {tmp_path}/up"
            notify_down "/bin/touch {tmp_path}/down"
            TCP_CHECK {{
              connect_timeout 0.5
              retry 2
              delay_before_retry 0.05
              warmup 0
            }}
          }}
        }}
    """)
    changes = []
    hc = HealthChecker(lambda vs, rs, up, w: changes.append((up, w)), notifier=notifier_for(cfg))
    hc.load(cfg)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert changes == [(True, 1)]  # initial state
        job = next(iter(hc.scheduler.jobs))
        await until(lambda: job.runs >= 1)
        await srv.off()
        runs_before = job.runs
        await until(lambda: changes[-1][0] is False)
        # 1 failed attempt + 2 retries (the first failure may have landed just before .off() returned)
        assert job.runs - runs_before in (3, 4)
        await srv.on()
        await until(lambda: changes[-1][0] is True)
        assert changes == [(True, 1), (False, 1), (True, 1)]
        await until(lambda: (tmp_path / "up").exists() and (tmp_path / "down").exists())
        lines = read_fifo(reader)
        rs = f"RS [127.0.0.1]:tcp:{srv.port} [192.0.2.10]:tcp:80"
        assert lines == [f"{rs} DOWN", f"{rs} UP"]  # VS lines: the LB plane's (test_quorum_... below)
    finally:
        await hc.stop()
        await hc.notifier.close()  # the caller owns the notifier
        os.close(reader)
        await srv.off()
    assert not fifo.exists()  # we created it, we remove it


@aio
async def test_alpha_starts_down_and_misc_dynamic_sets_weight(tmp_path):
    prog = tmp_path / "dyn"
    prog.write_text("#!/bin/sh\nexit 12\n")
    prog.chmod(0o755)
    cfg = config(f"""
        virtual_server 192.0.2.10 80 {{
          protocol TCP
          delay_loop 0.1
          alpha
          real_server 192.0.2.20 80 {{
            weight 5
            MISC_CHECK {{
              misc_path "{prog}"
              misc_dynamic
              warmup 0
            }}
          }}
        }}
    """)
    changes = []
    hc = HealthChecker(lambda vs, rs, up, w: changes.append((up, w)))
    hc.load(cfg)
    try:
        assert changes == [(False, 5)]
        await until(lambda: len(changes) == 2)
        assert changes[1] == (True, 10)
        assert hc.status()[0]["weight"] == 10
    finally:
        await hc.stop()


@aio
async def test_flapping_within_retry_never_goes_down(tmp_path):
    """A script that fails every other run: with retry 1 the real server stays up; with retry 0 it flaps."""
    counter = tmp_path / "n"
    counter.write_text("0")
    prog = tmp_path / "flap"
    prog.write_text(f'#!/bin/sh\nn=$(cat {counter}); echo $((n+1)) > {counter}\n[ $((n % 2)) -eq 0 ]\n')
    prog.chmod(0o755)

    async def run(retry):
        counter.write_text("0")
        cfg = config(f"""
            virtual_server 192.0.2.10 80 {{
              protocol TCP
              delay_loop 0.05
              real_server 192.0.2.20 80 {{
                MISC_CHECK {{
                  misc_path "{prog}"
                  misc_timeout 5
                  retry {retry}
                  delay_before_retry 0.05
                  warmup 0
                }}
              }}
            }}
        """)
        changes = []
        hc = HealthChecker(lambda vs, rs, up, w: changes.append(up))
        hc.load(cfg)
        job = next(iter(hc.scheduler.jobs))
        await until(lambda: job.runs >= 8)
        await hc.stop()
        return changes

    assert await run(1) == [True]
    flaps = await run(0)
    assert flaps[:3] == [True, False, True] and len(flaps) >= 5


@aio
async def test_reload_keeps_unchanged_checkers_and_replaces_changed_ones():
    text = """
        virtual_server 192.0.2.10 80 {{
          protocol TCP
          delay_loop 30
          real_server 127.0.0.1 {port} {{
            TCP_CHECK {{
              connect_timeout {timeout}
            }}
          }}
          real_server 127.0.0.2 {port} {{
            TCP_CHECK {{
              connect_timeout 1
            }}
          }}
        }}
    """
    port = free_port()
    hc = HealthChecker()
    hc.load(config(text.format(port=port, timeout=1)))
    jobs = {key[1]: h.jobs[0] for key, h in hc.servers.items()}
    hc.load(config(text.format(port=port, timeout=2)))
    after = {key[1]: h.jobs[0] for key, h in hc.servers.items()}
    assert after[("127.0.0.2", port)] is jobs[("127.0.0.2", port)]
    assert after[("127.0.0.1", port)] is not jobs[("127.0.0.1", port)]
    assert jobs[("127.0.0.1", port)] not in hc.scheduler.jobs and len(hc.scheduler.jobs) == 2
    await hc.stop()


@aio
async def test_reload_keeps_a_virtual_server_handed_over_as_the_same_object_and_drops_a_removed_one():
    """A reload hands unchanged blocks over as the same objects (core/snapshot.py): their
    entries and jobs stay as they are; a removed virtual server's jobs leave the scheduler."""
    block = """
        virtual_server 192.0.2.{i} 80 {{
          protocol TCP
          delay_loop 30
          real_server 127.0.0.{i} {port} {{
            TCP_CHECK {{
              connect_timeout 1
            }}
          }}
        }}
    """
    port = free_port()
    first = config(block.format(i=1, port=port) + block.format(i=2, port=port))
    hc = HealthChecker()
    hc.load(first)
    before = dict(hc.servers)
    kept = first.virtual_servers[0]
    changed = config(block.format(i=3, port=port)).virtual_servers[0]
    second = dataclasses.replace(first, virtual_servers=(kept, changed))
    hc.load(second)
    (k1, h1), (k3, h3) = hc.servers.items()
    assert h1 is before[k1] and h1.vs is kept  # not built again
    assert h3.vs is changed and h3.jobs[0] in hc.scheduler.jobs
    assert len(hc.scheduler.jobs) == 2  # the removed virtual server's job is gone
    assert [h.rs.ip.exploded for h in hc.servers.values()] == ["127.0.0.1", "127.0.0.3"]
    await hc.stop()


@aio
async def test_reload_writes_a_changed_block_in_place_and_leaves_the_others_alone():
    """A block edited (the same service, a new object) is written over its entries, which keep
    their place; the others are the entries they were."""
    block = """
        virtual_server 192.0.2.{i} 80 {{
          protocol TCP
          delay_loop 30
          real_server 127.0.0.{i} {port} {{
            weight {w}
            TCP_CHECK {{
              connect_timeout 1
            }}
          }}
        }}
    """
    port = free_port()
    first = config("".join(block.format(i=i, port=port, w=1) for i in (1, 2, 3)))
    hc = HealthChecker()
    hc.load(first)
    before = dict(hc.servers)
    edited = config(block.format(i=2, port=port, w=5)).virtual_servers[0]
    hc.load(dataclasses.replace(first, virtual_servers=(first.virtual_servers[0], edited, first.virtual_servers[2])))
    assert list(hc.servers) == list(before)  # the same keys, in the same order
    k1, k2, k3 = before
    assert hc.servers[k1] is before[k1] and hc.servers[k3] is before[k3]
    assert hc.servers[k2] is not before[k2] and hc.servers[k2].vs is edited and hc.servers[k2].rs.weight == 5
    assert len(hc.scheduler.jobs) == 3
    await hc.stop()


@aio
async def test_quorum_from_the_lb_plane_with_two_servers_and_omega_on_stop(tmp_path):
    """The daemon's wiring (LbLoop): checkers -> plane -> one quorum decision -> VS lines."""
    srv = Toggle()
    await srv.on()
    fifo = tmp_path / "f"
    cfg = config(f"""
        global_defs {{
          notify_fifo {fifo}
        }}
        virtual_server fwmark 7 {{
          delay_loop 0.05
          quorum 2
          omega
          real_server 127.0.0.1 {srv.port} {{
            TCP_CHECK {{
              retry 0
              warmup 0
            }}
          }}
          real_server 192.0.2.20 80 {{
          }}
        }}
    """)
    loop = LbLoop(cfg, tmp_path / "run", MemoryBackend())
    await loop.start()
    quorum = lambda: loop.lb.quorum["TCP fwmark 7"]  # noqa: E731
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert quorum() is True
        await srv.off()
        await until(lambda: quorum() is False)
        await srv.on()
        await until(lambda: quorum() is True)
    finally:
        await loop.stop()
        lines = read_fifo(reader)
        os.close(reader)
        await srv.off()
    rs = f"RS [127.0.0.1]:tcp:{srv.port} FWM 7"
    assert lines == [f"{rs} DOWN", "VS FWM 7 DOWN", f"{rs} UP", "VS FWM 7 UP",
                     # omega: stop announces what was alive
                     f"{rs} DOWN", "RS [192.0.2.20]:tcp:80 FWM 7 DOWN", "VS FWM 7 DOWN"]
