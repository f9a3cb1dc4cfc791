"""build_checkers: SMTP host { } expansion as keepalived 2.2 does it; FILE_CHECK through HealthChecker."""

from __future__ import annotations

import textwrap

from pykeepalived.check.build import build_checkers
from pykeepalived.check.file import FileChecker
from pykeepalived.check.health import HealthChecker
from pykeepalived.config.loader import loads_config

from .helpers import aio
from .test_health import until


def load(text: str):
    cfg, diags = loads_config(textwrap.dedent(text))
    assert not diags.errors, [str(d) for d in diags.errors]
    return cfg


def expand(smtp_body: str):
    cfg = load(f"""
        virtual_server 192.0.2.100 25 {{
          protocol TCP
          connect_timeout 7
          real_server 192.0.2.10 25 {{
            SMTP_CHECK {{
              helo_name foo.bar.com
              retry 2
        {textwrap.indent(textwrap.dedent(smtp_body), '      ')}
            }}
          }}
        }}
    """)
    vs = cfg.virtual_servers[0]
    rs = vs.real_servers[0]
    return build_checkers(rs.checkers[0], rs, vs)


def test_hosts_only_checks_each_host_not_the_real_server():
    pairs = expand("""
        host {
          connect_ip 192.0.2.11
        }
        host {
          connect_ip 192.0.2.12
          connect_port 587
          bindto 192.0.2.2
          connect_timeout 3
        }
    """)
    assert [str(c.target) for c, _ in pairs] == ["192.0.2.11:25", "192.0.2.12:587"]
    assert [c.target.timeout for c, _ in pairs] == [7.0, 3.0]  # the virtual server's, else the host's own
    assert {c.helo_name for c, _ in pairs} == {"foo.bar.com"}
    assert {t.retry for _, t in pairs} == {2}
    assert str(pairs[1][0].target.bindto) == "192.0.2.2"


def test_a_connection_option_of_its_own_adds_the_real_server():
    pairs = expand("""
        connect_timeout 10
        host {
          connect_ip 192.0.2.11
        }
    """)
    assert [(str(c.target), c.target.timeout) for c, _ in pairs] == [("192.0.2.10:25", 10.0), ("192.0.2.11:25", 7.0)]


def test_no_hosts_is_one_checker():
    assert [str(c.target) for c, _ in expand("")] == ["192.0.2.10:25"]


@aio
async def test_file_check_moves_weight_and_state(tmp_path):
    value = tmp_path / "rs-value"
    value.write_text("0\n")
    cfg = load(f"""
        track_file rs_file {{
          file {value}
          weight 0
        }}
        virtual_server 192.0.2.10 80 {{
          protocol TCP
          real_server 192.0.2.20 80 {{
            weight 5
            FILE_CHECK {{
              track_file rs_file
            }}
            FILE_CHECK {{
              track_file rs_file
              weight 2
            }}
          }}
        }}
    """)
    changes = []
    hc = HealthChecker(lambda vs, rs, up, w: changes.append((up, w)))
    hc.load(cfg)
    try:
        assert all(isinstance(j.checker, FileChecker) for j in hc.scheduler.jobs)
        await until(lambda: all(j.runs for j in hc.scheduler.jobs))
        assert changes == [(True, 5)]
        value.write_text("-1\n")  # weight 0 checker: non-zero is DOWN; weight 2: 5 - 2
        await until(lambda: changes[-1] == (False, 3))
        value.write_text("0\n")
        await until(lambda: changes[-1] == (True, 5))
    finally:
        await hc.stop()
