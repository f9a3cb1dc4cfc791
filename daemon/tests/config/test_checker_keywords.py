"""UDP_CHECK, SMTP_CHECK host { } and FILE_CHECK: what the config layer builds and refuses."""

from __future__ import annotations

import io
import subprocess
import textwrap
from pathlib import Path

import pytest

from pykeepalived.cli import check_config
from pykeepalived.config.loader import loads_config
from pykeepalived.config.model_lvs import FileCheck, SmtpCheck, UdpCheck
from pykeepalived.config.render import render

from .test_keepalived_samples import KEEPALIVED, can_run_keepalived


def load(body: str, top: str = ""):
    text = textwrap.dedent(top) + textwrap.dedent("""\
        virtual_server 192.0.2.1 53 {
          protocol UDP
          real_server 192.0.2.2 53 {
        %s
          }
        }
        """) % textwrap.indent(textwrap.dedent(body), "    ")
    return loads_config(text, "t.conf")


def errors(body: str, top: str = "") -> list[str]:
    return [str(d) for d in load(body, top)[1].errors]


def checkers(body: str, top: str = ""):
    cfg, diags = load(body, top)
    assert not diags.errors, [str(d) for d in diags.errors]
    return cfg.virtual_servers[0].real_servers[0].checkers


def test_udp_hex_is_keepalived_free_format():
    (c,) = checkers("""\
        UDP_CHECK {
          payload Ab12f 3 456 546443123
          require_reply 0x x1 F
          min_reply_length 2
          max_reply_length 100
        }""")
    assert isinstance(c, UdpCheck)
    # keepalived.conf(5)'s own example: AB 12 0F 03 45 06 54 64 43 12 03
    assert c.payload == "ab 12 0f 03 45 06 54 64 43 12 03"
    assert c.require_reply == "0x x1 0f"
    assert (c.min_reply_length, c.max_reply_length) == (2, 100)


def test_udp_defaults_and_bare_require_reply():
    plain, bare = checkers("UDP_CHECK {\n}\nUDP_CHECK {\n  require_reply\n}")
    assert (plain.payload, plain.require_reply, plain.min_reply_length, plain.max_reply_length) == (None, None, 0, 255)
    assert bare.require_reply == ""


@pytest.mark.parametrize("body, message", [
    ("payload 12 zz", "t.conf:5:18: error: payload: 'z' in 'zz' is not one of hex digits"),
    ("payload 1x", "t.conf:5:15: error: payload: 'x' in '1x' is not one of hex digits"),
    ("require_reply 1g", "t.conf:5:21: error: require_reply: 'g' in '1g' is not one of hex digits or x"),
    ("payload", "t.conf:5:7: error: 'payload' needs at least 1 argument, got 0"),
    ("max_reply_length 70000", "t.conf:5:7: error: max_reply_length:"),
    ("min_reply_length 9\n      max_reply_length 3",
     "t.conf:5:7: error: min_reply_length is above max_reply_length"),
    ("helo_name x", "t.conf:5:7: error: 'helo_name' is not valid in UDP_CHECK"),
])
def test_udp_errors_say_where_and_what(body, message):
    found = errors(f"UDP_CHECK {{\n  {body}\n}}")
    assert any(line.startswith(message) for line in found), found


def test_smtp_hosts():
    (c,) = checkers("""\
        SMTP_CHECK {
          helo_name foo.bar.com
          host {
            connect_ip 192.0.2.11
          }
          host {
            connect_ip 192.0.2.12
            connect_port 587
            bindto 192.0.2.2
            connect_timeout 3
          }
        }""")
    assert isinstance(c, SmtpCheck) and c.helo_name == "foo.bar.com"
    assert [(str(h.connect_ip), h.connect_port, h.connect_timeout) for h in c.hosts] == [
        ("192.0.2.11", None, None), ("192.0.2.12", 587, 3.0)]
    assert str(c.hosts[1].bindto) == "192.0.2.2"


def test_smtp_host_refuses_checker_options_with_location():
    found = errors("SMTP_CHECK {\n  host {\n    retry 3\n  }\n}")
    assert found and found[0].startswith("t.conf:6:9: error: 'retry' is not valid in host"), found


TRACK = "track_file tf {\n  file /tmp/tf-value\n  weight 3 reverse\n}\n"


def test_file_check():
    (c,) = checkers("FILE_CHECK {\n  track_file tf\n  weight -5 reverse\n  dynamic\n}", TRACK)
    assert c == FileCheck(track_file="tf", weight=-5, weight_reverse=True, dynamic=True, loc=c.loc, locs=c.locs)
    (d,) = checkers("FILE_CHECK {\n  track_file tf\n}", TRACK)
    assert (d.weight, d.weight_reverse) == (None, False)  # the track_file's, resolved at run time


@pytest.mark.parametrize("body, message", [
    ("track_file nope", "t.conf:9:7: error: FILE_CHECK track_file 'nope' is not a defined track_file"),
    ("weight 3", "t.conf:8:5: error: FILE_CHECK: missing required 'track_file'"),
    ("track_file tf\n      weight 3 sideways", "t.conf:10:20: error: weight: expected 'reverse' after the weight"),
    ("track_file tf\n      weight 2147483648", "t.conf:10:18: error: weight: 2147483648 out of range"),
    ("track_file tf\n      connect_ip 192.0.2.9", "t.conf:10:11: error: 'connect_ip' is not valid in FILE_CHECK"),
])
def test_file_check_errors(body, message):
    found = errors(f"FILE_CHECK {{\n  {body}\n}}", TRACK)
    assert any(line.startswith(message) for line in found), found


def test_render_round_trips_the_new_checkers():
    cfg, diags = load("""\
        UDP_CHECK {
          payload 01 02
          require_reply x0 FF
        }
        UDP_CHECK {
          require_reply
        }
        SMTP_CHECK {
          connect_timeout 4
          host {
            connect_ip 192.0.2.30
          }
        }
        FILE_CHECK {
          track_file tf
          weight 0 reverse
        }""", TRACK)
    assert not diags.errors
    again, diags2 = loads_config(render(cfg), "rendered.conf")
    assert not diags2.errors and again == cfg


CROSS = Path(__file__).resolve().parent / "new_checkers_and_track_process.conf"


def test_the_cross_checked_file_loads_here():
    code = check_config(str(CROSS), out=io.StringIO(), err=(err := io.StringIO()))
    assert code == 0, err.getvalue()


@can_run_keepalived
def test_keepalived_accepts_the_same_file():
    proc = subprocess.run(["unshare", "--net", "sh", "-c",
                           f'ip link add eth0 type veth peer name kspeer0 || exit 90; exec {KEEPALIVED} -t -l -n -f "$0"',
                           str(CROSS)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
