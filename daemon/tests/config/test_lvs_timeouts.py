"""global_defs lvs_timeouts [tcp SECS] [tcpfin SECS] [udp SECS]: parsed with located errors, refused on
the nftables plane with the reason, and its netlink codec (the kernel side: tests/integration/lb,
UML)."""
from __future__ import annotations

import struct

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.config.model_vrrp import LvsTimeouts
from pykeepalived.lb.select import backend_errors
from pykeepalived.net.ipvs_config import ATTR_TCP, ATTR_UDP, IPVS_CMD_SET_CONFIG, Timeouts, decode_config, encode_set
from pykeepalived.net.rtnl import attributes, messages


def parsed(value: str):
    return loads_config("global_defs {\n    lvs_timeouts " + value + "\n}\n", "k.conf")


@pytest.mark.parametrize(("value", "want"), [("tcp 900", LvsTimeouts(tcp=900)),
                                             ("udp 30 tcp 7200 tcpfin 60", LvsTimeouts(7200, 60, 30)),
                                             ("tcp 0 udp 5", LvsTimeouts(udp=5))])
def test_forms(value: str, want: LvsTimeouts) -> None:
    config, diags = parsed(value)
    assert not diags.errors and config.global_defs.lvs_timeouts == want


@pytest.mark.parametrize(("value", "error"), [
    ("tcp", "k.conf:2:5: error: 'lvs_timeouts' needs at least 2 arguments, got 1"),
    ("tcp 2678401", "k.conf:2:22: error: lvs_timeouts: tcp 2678401 out of range 0-2678400"),
    ("sctp 5", "k.conf:2:18: error: lvs_timeouts: unknown option 'sctp' (tcp, tcpfin, udp)"),
    ("tcp 1 tcp 2", "k.conf:2:24: error: lvs_timeouts: 'tcp' given twice"),
    ("tcp 5 udp", "k.conf:2:24: error: lvs_timeouts: 'udp' needs a number of seconds"),
])
def test_errors_say_where(value: str, error: str) -> None:
    assert [str(e) for e in parsed(value)[1].errors] == [error]


def test_the_nftables_plane_refuses_them_with_the_reason() -> None:
    config, _diags = loads_config("global_defs {\n    lb_backend nftables\n    lvs_timeouts tcp 900\n}\n"
                             "virtual_server 192.0.2.1 80 {\n    protocol TCP\n    lb_algo rr\n"
                             "    real_server 10.0.0.1 80 {\n    }\n}\n", "k.conf")
    [error] = backend_errors(config, kernel_has_ipvs=True)
    assert error.startswith("k.conf:3:5: error: lvs_timeouts cannot be expressed by the nftables backend")
    assert "conntrack" in error and "lb_backend ipvs" in error


def test_codec_sends_only_what_is_set() -> None:
    [(kind, seq, body)] = list(messages(encode_set(30, Timeouts(tcp=900, udp=5), seq=7)))
    assert (kind, seq, body[0]) == (30, 7, IPVS_CMD_SET_CONFIG)
    attrs = attributes(body, 4)
    assert attrs == {ATTR_TCP: struct.pack("=I", 900), ATTR_UDP: struct.pack("=I", 5)}
    assert decode_config(body) is None  # an answer must carry all three
    full = encode_set(30, Timeouts(900, 120, 300))
    assert decode_config(next(iter(messages(full)))[2]) == Timeouts(900, 120, 300)
    assert Timeouts(tcp=1).over(Timeouts(900, 120, 300)) == Timeouts(1, 120, 300)
