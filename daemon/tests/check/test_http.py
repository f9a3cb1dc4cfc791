"""HTTP_GET and SSL_GET against real asyncio servers; TLS with a certificate made at test time."""

import asyncio
import hashlib
import socket

from pykeepalived.check.http import HttpChecker, UrlSpec

from .helpers import Switch, aio, free_port, port_of, start_http, target

BODY = b"hello\n"
MD5 = hashlib.md5(BODY).hexdigest()


async def run(server, urls, tls=False, timeout=1.0, **kw):
    async with server:
        return await HttpChecker(target(port_of(server), timeout=timeout), urls, tls=tls, **kw).check()


@aio
async def test_up_status_and_digest_and_request_format():
    sw = Switch()
    server = await start_http(sw)
    result = await run(server, (UrlSpec("/a", MD5), UrlSpec("/b")))
    assert result.ok, result.reason
    assert sw.hits == 2  # one connection per url
    assert sw.last_request.startswith(b"GET /b HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:")


@aio
async def test_virtualhost_and_http11():
    sw = Switch()
    server = await start_http(sw)
    result = await run(server, (UrlSpec("/", virtualhost="www.example.test"),), protocol="1.1")
    assert result.ok
    assert b"GET / HTTP/1.1\r\n" in sw.last_request
    assert b"Host: www.example.test\r\n" in sw.last_request and b"Connection: close" in sw.last_request


@aio
async def test_down_wrong_status_and_status_ranges():
    server = await start_http(Switch("status500"))
    assert not (await run(server, (UrlSpec("/"),))).ok
    server = await start_http(Switch("status500"))
    assert (await run(server, (UrlSpec("/", status=((200, 299), (500, 503))),))).ok


@aio
async def test_down_wrong_digest():
    server = await start_http(Switch())
    result = await run(server, (UrlSpec("/", "0" * 32),))
    assert not result.ok and "digest" in result.reason


@aio
async def test_down_second_url_fails():
    server = await start_http(Switch(), status=404)
    result = await run(server, (UrlSpec("/", status=((404, 404),)), UrlSpec("/x")))
    assert not result.ok and result.reason.startswith("/x")


@aio
async def test_down_nothing_listening_and_closed_early():
    result = await HttpChecker(target(free_port()), (UrlSpec("/"),)).check()
    assert not result.ok
    server = await start_http(Switch("close"))
    assert not (await run(server, (UrlSpec("/"),))).ok


@aio
async def test_stalled_response_times_out():
    server = await start_http(Switch("stall"))
    result = await run(server, (UrlSpec("/"),), timeout=0.3)
    assert not result.ok and "timeout" in result.reason and result.latency < 1.5


@aio
async def test_ssl_get_up_and_digest(server_tls):
    server = await start_http(Switch(), ssl=server_tls)
    result = await run(server, (UrlSpec("/", MD5),), tls=True)
    assert result.ok, result.reason


@aio
async def test_ssl_get_with_sni(server_tls):
    seen = []
    server_tls.sni_callback = lambda sock, name, ctx: seen.append(name)
    try:
        server = await start_http(Switch(), ssl=server_tls)
        result = await run(server, (UrlSpec("/"),), tls=True, sni="www.example.test")
    finally:
        server_tls.sni_callback = None
    assert result.ok and seen == ["www.example.test"]


@aio
async def test_ssl_get_against_plain_http_fails():
    server = await start_http(Switch())
    assert not (await run(server, (UrlSpec("/"),), tls=True)).ok


@aio
async def test_ssl_get_stalled_handshake_times_out():
    """keepalived bug #1817: the server accepts TCP but never speaks TLS."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the TCP handshake; nobody ever answers
        port = silent.getsockname()[1]
        loop = asyncio.get_running_loop()
        start = loop.time()
        result = await HttpChecker(target(port, timeout=0.3), (UrlSpec("/"),), tls=True).check()
    assert not result.ok and "timeout" in result.reason
    assert loop.time() - start < 1.5
