"""HTTP_GET's callback path (http_attempt.py) against real servers answering raw bytes:
body framings for the digest, a slow body, oversized headers, cancel, and the scheduler using it."""

import asyncio
import hashlib

import pytest

from pykeepalived.check.base import Timing
from pykeepalived.check.http import HttpChecker, UrlSpec
from pykeepalived.check.http_attempt import dechunk
from pykeepalived.check.scheduler import Scheduler

from .helpers import aio, free_port, port_of, target

BODY = b"hello, chunked world\n"
MD5 = hashlib.md5(BODY).hexdigest()


async def raw_server(*parts: bytes, pause: float = 0.0):
    """Reads the request head, then writes ``parts`` (``pause`` s apart) and closes."""
    async def handle(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        for part in parts:
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(pause)
        writer.close()
    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def check(server, urls, timeout=1.0):
    async with server:
        return await HttpChecker(target(port_of(server), timeout=timeout), urls).check()


@pytest.mark.parametrize("response", [
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello,\r\n" + b"f;x=1\r\n chunked world\n\r\n0\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY + b"trailing junk",
    b"HTTP/1.0 200 OK\r\n\r\n" + BODY,  # until EOF
])
@aio
async def test_digest_over_each_body_framing(response):
    server = await raw_server(response[:30], response[30:], pause=0.02)  # split: more than one read
    result = await check(server, (UrlSpec("/", MD5),))
    assert result.ok, result.reason


@aio
async def test_wrong_digest_and_status_are_reported_per_url():
    server = await raw_server(b"HTTP/1.0 200 OK\r\n\r\nother")
    result = await check(server, (UrlSpec("/d", MD5),))
    assert not result.ok and result.reason.startswith("/d: digest ")
    server = await raw_server(b"HTTP/1.0 404 Not Found\r\n\r\n")
    result = await check(server, (UrlSpec("/s"),))
    assert not result.ok and result.reason == "/s: status 404"


@aio
async def test_each_body_read_has_its_own_timeout():
    # four pieces 0.2 s apart: 0.6 s in all, above the 0.3 s timeout, but no single wait is
    server = await raw_server(b"HTTP/1.0 200 OK\r\n\r\n", BODY[:5], BODY[5:10], BODY[10:], pause=0.2)
    result = await check(server, (UrlSpec("/", MD5),), timeout=0.35)
    assert result.ok, result.reason
    server = await raw_server(b"HTTP/1.0 200 OK\r\n\r\n", BODY[:5], BODY[5:], pause=0.6)
    result = await check(server, (UrlSpec("/", MD5),), timeout=0.3)
    assert not result.ok and result.reason == "/: timeout"


@aio
async def test_refused_connect_is_reported_by_the_send():
    # no getsockopt(SO_ERROR) on the callback path: the send after the connect carries its error
    result = await HttpChecker(target(free_port()), (UrlSpec("/r"),)).check()
    assert not result.ok and result.reason == "/r: Connection refused"


@aio
async def test_each_url_and_its_response_head_have_their_own_timeout():
    # two urls, each answered 0.2 s after its request: 0.4 s in all, above the 0.3 s timeout
    server = await raw_server(b"", b"HTTP/1.0 200 OK\r\n\r\n", pause=0.2)
    result = await check(server, (UrlSpec("/a"), UrlSpec("/b")), timeout=0.3)
    assert result.ok and result.latency > 0.3, result
    server = await raw_server(b"", b"HTTP/1.0 200 OK\r\n\r\n", pause=0.5)
    result = await check(server, (UrlSpec("/a"),), timeout=0.3)
    assert not result.ok and result.reason == "/a: timeout" and result.latency < 0.45, result


@aio
async def test_headers_too_long_and_closed_early():
    server = await raw_server(b"HTTP/1.0 200 OK\r\nX: " + b"a" * 70000)
    result = await check(server, (UrlSpec("/"),))
    assert not result.ok and "too long" in result.reason
    server = await raw_server(b"HTTP/1.0 200 OK\r\nX: y\r\n")
    result = await check(server, (UrlSpec("/"),))
    assert not result.ok and "closed before the end of the response headers" in result.reason


@aio
async def test_cancel_closes_and_never_reports():
    server = await raw_server(b"", pause=5)  # answers nothing for 5 s
    loop = asyncio.get_running_loop()
    got = []
    async with server:
        attempt = HttpChecker(target(port_of(server)), (UrlSpec("/"),)).start(loop, got.append)
        await asyncio.sleep(0.1)
        attempt.cancel()
        await asyncio.sleep(1.2)  # past the 1 s timeout it would otherwise report
    assert got == [] and attempt.sock is None


@aio
async def test_scheduler_runs_http_without_a_task_and_ssl_with_one():
    server = await raw_server(b"HTTP/1.0 200 OK\r\n\r\nok")
    sched = Scheduler()
    results = []
    async with server:
        job = sched.add(HttpChecker(target(port_of(server)), (UrlSpec("/"),)), Timing(delay_loop=0.1, warmup=0),
                        lambda job, r, c: results.append(r))
        await asyncio.sleep(0.35)
        assert not isinstance(job.task, asyncio.Task)
        await sched.close()
    assert len(results) >= 2 and all(r.ok for r in results), results
    assert HttpChecker(target(443), (UrlSpec("/"),), tls=True).start is None


def test_dechunk_waits_for_the_whole_body():
    full = b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    assert dechunk(full) == b"abcde"
    assert all(dechunk(full[:i]) is None for i in range(len(full) - 4))


@pytest.mark.parametrize("digest", [None, MD5])
@aio
async def test_a_bad_status_line_fails_with_or_without_digest(digest):
    # without digest only the status line is parsed; it is judged the same as with the whole head
    server = await raw_server(b"ICY 200 OK\r\nX: y\r\n\r\n" + BODY)
    result = await check(server, (UrlSpec("/", digest),))
    assert not result.ok and result.reason == "/: UrlFailure: bad status line 'ICY 200 OK'", result
