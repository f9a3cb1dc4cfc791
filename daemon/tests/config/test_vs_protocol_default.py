"""A virtual_server without ``protocol``: UDP with a located warning, as keepalived 2.2.7
(check_data.c: "no protocol set - defaulting to UDP"), side by side with its -t."""
from __future__ import annotations

import subprocess

from pykeepalived.config.loader import loads_config
from pykeepalived.config.render import render
from pykeepalived.lb.desired import Overrides, compute

from .test_keepalived_samples import KEEPALIVED, can_run_keepalived

TEXT = """virtual_server_group web {
    192.0.2.5 80
}
virtual_server_group marks {
    fwmark 9
}
virtual_server 192.0.2.1 80 {
    real_server 10.1.0.1 80 {
    }
}
virtual_server fwmark 7 {
    real_server 10.1.0.1 80 {
    }
}
  virtual_server group web {
    real_server 10.1.0.1 80 {
    }
}
virtual_server 192.0.2.2 80 {
    protocol TCP
    real_server 10.1.0.1 80 {
    }
}
"""


def test_unsaid_is_udp_with_a_warning_where_the_block_starts() -> None:
    config, diags = loads_config(TEXT, "k.conf")
    assert not diags.errors
    warned = [str(w) for w in diags.warnings if "no protocol set" in str(w)]
    assert warned == [
        "k.conf:7:1: warning: virtual_server 192.0.2.1 80: no protocol set - defaulting to UDP, as keepalived "
        "does (write protocol TCP, UDP or SCTP)",
        "k.conf:15:3: warning: virtual_server group web: no protocol set - defaulting to UDP, as keepalived "
        "does (write protocol TCP, UDP or SCTP)"]
    assert [vs.key for vs in config.virtual_servers] == ["UDP 192.0.2.1:80", "TCP fwmark 7", "UDP group web",
                                                         "TCP 192.0.2.2:80"]
    # the data plane programs what the model says: UDP services
    table = compute(config, {}, Overrides(), {}).table
    assert sorted(str(k) for k in table) == ["FWM 7", "TCP 192.0.2.2:80", "UDP 192.0.2.1:80", "UDP 192.0.2.5:80"]


def test_render_says_the_protocol_so_the_round_trip_is_silent() -> None:
    config, _diags = loads_config(TEXT, "k.conf")
    again, diags = loads_config(render(config), "rendered.conf")
    assert again == config and not [w for w in diags.warnings if "no protocol set" in str(w)]


@can_run_keepalived
def test_keepalived_says_the_same(tmp_path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("virtual_server 192.0.2.1 80 {\n    real_server 10.1.0.1 80 {\n    }\n}\n")
    proc = subprocess.run(["unshare", "--net", KEEPALIVED, "-t", "-l", "-n", "-f", str(conf)],
                          capture_output=True, text=True, timeout=60, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "no protocol set - defaulting to UDP" in out, out
    assert "[192.0.2.1]:udp:80" in out  # and it goes on with UDP
