"""PING_CHECK: ICMP echo to the loopback addresses."""

import os
import shutil
import subprocess
import sys

import pytest

from pykeepalived.check.ping import PingChecker, checksum, echo_request, parse_reply

from .helpers import aio, has_ipv6_loopback, target


def test_checksum_and_codec():
    req = echo_request(4, 0x1234, 7, b"abcd")
    assert checksum(req) == 0
    reply = bytes([0]) + req[1:]
    assert parse_reply(4, reply, raw=False) == (0x1234, 7, b"abcd")
    assert parse_reply(4, req, raw=False) is None  # a request is not a reply


@aio
async def test_ping_ipv4_loopback():
    result = await PingChecker(target(None)).check()
    assert result.ok, result.reason


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no ::1")
@aio
async def test_ping_ipv6_loopback():
    result = await PingChecker(target(None, "::1")).check()
    assert result.ok, result.reason


PROBE = """
import asyncio, ipaddress, sys
from pykeepalived.check.base import Target
from pykeepalived.check.ping import PingChecker
r = asyncio.run(PingChecker(Target(ipaddress.ip_address("127.0.0.1"), None, timeout=0.3)).check())
print(r.ok, r.reason)
"""


def in_private_netns(setup: str) -> str:
    """Run the ping probe in a new network namespace (its sysctls are its own, not the host's)."""
    out = subprocess.run(["unshare", "--net", "sh", "-c", f"{setup}; exec {sys.executable} -c '{PROBE}'"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


needs_netns = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare")


@needs_netns
def test_ping_unanswered_times_out():
    # loopback up but echo ignored: the request goes out, no reply comes back
    assert in_private_netns("ip link set lo up && sysctl -qw net.ipv4.icmp_echo_ignore_all=1") == "False timeout"


@needs_netns
def test_ping_unreachable_fails():
    # loopback down: no route at all
    ok, _ = in_private_netns("true").split(" ", 1)
    assert ok == "False"
