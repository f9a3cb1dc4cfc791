"""DNS_CHECK against a tiny real UDP DNS server built with dnspython."""

import asyncio
import struct

import dns.message
import dns.rcode
import dns.rrset

from pykeepalived.check.dns import DnsChecker, build_query

from .helpers import aio, free_port, target


class DnsServer(asyncio.DatagramProtocol):
    """Answers every query; ``mode``: ok | nxdomain | silent | wrong_id."""

    def __init__(self, mode="ok"):
        self.mode, self.queries = mode, []

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        query = dns.message.from_wire(data)
        self.queries.append(query)
        if self.mode == "silent":
            return
        response = dns.message.make_response(query)
        if self.mode == "nxdomain":
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            q = query.question[0]
            response.answer.append(dns.rrset.from_text(q.name, 60, "IN", "A", "192.0.2.1"))
        wire = response.to_wire()
        if self.mode == "wrong_id":
            wire = struct.pack("!H", (query.id + 1) & 0xFFFF) + wire[2:]
        self.transport.sendto(wire, addr)


async def serve(mode):
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(lambda: DnsServer(mode), local_addr=("127.0.0.1", 0))
    return transport, proto, transport.get_extra_info("sockname")[1]


def test_query_bytes_parse_with_dnspython():
    msg = dns.message.from_wire(build_query(0x1234, "www.example.org", "AAAA"))
    assert msg.id == 0x1234 and str(msg.question[0].name) == "www.example.org."
    assert msg.question[0].rdtype == 28 and msg.flags & 0x0100
    assert str(dns.message.from_wire(build_query(1, ".", "SOA")).question[0].name) == "."


@aio
async def test_up_and_query_content():
    transport, proto, port = await serve("ok")
    try:
        result = await DnsChecker(target(port), "A", "lb.example.test").check()
    finally:
        transport.close()
    assert result.ok, result.reason
    assert str(proto.queries[0].question[0].name) == "lb.example.test."


@aio
async def test_down_nxdomain():
    transport, _, port = await serve("nxdomain")
    try:
        result = await DnsChecker(target(port)).check()
    finally:
        transport.close()
    assert not result.ok and "rcode 3" in result.reason


@aio
async def test_wrong_id_is_ignored_then_times_out():
    transport, _, port = await serve("wrong_id")
    try:
        result = await DnsChecker(target(port, timeout=0.3)).check()
    finally:
        transport.close()
    assert not result.ok and result.reason == "timeout"


@aio
async def test_silent_server_times_out_and_closed_port_fails():
    transport, _, port = await serve("silent")
    try:
        assert (await DnsChecker(target(port, timeout=0.2)).check()).reason == "timeout"
    finally:
        transport.close()
    # Nothing bound: the ICMP port unreachable comes back as ECONNREFUSED on the connected socket.
    result = await DnsChecker(target(free_port(kind=2), timeout=0.5)).check()
    assert not result.ok
