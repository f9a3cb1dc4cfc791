"""HTTP_GET and SSL_GET: every ``url`` must answer with an accepted status (and digest).

Each url is its own connection, as in keepalived.  ``connect_timeout`` bounds
every step on its own: the TCP connect, the TLS handshake (keepalived bug
#1817: a server that accepts but never completes the handshake must not hang
the checker), and each read of the response, so a stalled response fails too.
"""

from __future__ import annotations

import asyncio
import os
import ssl

from ..compat.aio import asyncio_timeout
from ..config.model_lvs import SslClient
from ..config.ssl_client import client_context
from .base import BaseChecker, CheckResult, Target
from .conn import Endpoint, connect, describe, run_attempt
from .http_attempt import HttpAttempt
from .http_wire import DEFAULT_STATUS, MAX_BODY, USER_AGENT, UrlFailure, UrlSpec, build_request, parse_head

__all__ = ["DEFAULT_STATUS", "MAX_BODY", "USER_AGENT", "HttpChecker", "UrlFailure", "UrlSpec", "build_request",
           "fetch", "files_key", "parse_head", "read_body", "tls_context"]


def tls_context() -> ssl.SSLContext:
    """keepalived's SSL_GET verifies nothing: it checks that the service answers."""
    return client_context()


async def read_body(reader: asyncio.StreamReader, headers: dict[str, str], timeout: float) -> bytes:
    """The body (Content-Length, chunked, or until EOF); every read bounded by ``timeout``."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            async with asyncio_timeout(timeout):
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0 or len(body) + size > MAX_BODY:
                return bytes(body)
            async with asyncio_timeout(timeout):
                body += await reader.readexactly(size + 2)
            del body[-2:]
    length = headers.get("content-length")
    remaining = int(length) if length and length.isdigit() else MAX_BODY
    body = bytearray()
    while remaining > 0:
        async with asyncio_timeout(timeout):
            chunk = await reader.read(min(remaining, 65536))
        if not chunk:
            break
        body += chunk
        remaining -= len(chunk)
    return bytes(body)


async def fetch(target: Target, url: UrlSpec, protocol: str = "1.0", tls: bool = False,
                sni: str | None = None, want_body: bool = True,
                context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    """GET one url: (status, body).  Raises OSError / TimeoutError / UrlFailure.
    ``context``: SSL_GET's (the SSL block's client certificate), else one that verifies nothing."""
    sock = await connect(target)
    try:
        async with asyncio_timeout(target.timeout):  # the TLS handshake (bug #1817)
            reader, writer = await asyncio.open_connection(
                sock=sock, ssl=(context or tls_context()) if tls else None,
                server_hostname=(sni or "") if tls else None,
                ssl_handshake_timeout=target.timeout if tls else None)
    except BaseException:
        sock.close()
        raise
    try:
        writer.write(build_request(url, target, protocol, tls))
        async with asyncio_timeout(target.timeout):
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
        code, headers = parse_head(head[:-4])
        body = await read_body(reader, headers, target.timeout) if want_body else b""
        return code, body
    except asyncio.IncompleteReadError as err:
        raise UrlFailure("connection closed before the end of the response headers") from err
    except asyncio.LimitOverrunError as err:
        raise UrlFailure("response headers too long") from err
    finally:
        writer.transport.abort()  # no TLS close_notify dance: a checker does not wait on a peer


def files_key(client: SslClient | None) -> tuple | None:
    """The SSL block as a reload compares it: its names and password, and its files' change times
    (a certificate renewed in place makes the checker anew, with a new context)."""
    if client is None:
        return None
    names = (client.ca, client.certificate, client.key)
    stamps = tuple(_stamp(name) for name in names)
    return (*names, client.password, stamps)


def _stamp(name: str | None) -> tuple | None:
    if name is None:
        return None
    try:
        st = os.stat(name)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


_CONTEXTS: dict[tuple | None, ssl.SSLContext] = {}


def shared_context(client: SslClient | None, key: tuple | None) -> ssl.SSLContext:
    """One context per SSL block and state of its files: a thousand SSL_GETs read the files once."""
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        if len(_CONTEXTS) >= 4:  # older files' contexts: those checkers keep their own reference
            _CONTEXTS.clear()
        ctx = _CONTEXTS[key] = client_context(client)
    return ctx


class HttpChecker(BaseChecker):
    """HTTP_GET / SSL_GET with one or more urls."""

    def __init__(self, target: Target, urls: tuple[UrlSpec, ...], tls: bool = False,
                 protocol: str = "1.0", sni: str | None = None, client: SslClient | None = None,
                 context: ssl.SSLContext | None = None) -> None:
        super().__init__(target)
        self.kind = "SSL_GET" if tls else "HTTP_GET"
        self.urls, self.tls, self.protocol, self.sni = urls, tls, protocol, sni
        self.peer = Endpoint(target)
        # the SSL block's files as they are now (a reload compares them) and one context for all SSL_GETs
        self.client_key = files_key(client) if tls else None
        self.context = (context or shared_context(client, self.client_key)) if tls else None
        # one request per url, built once: the bytes never change between attempts
        self.requests = tuple(build_request(url, target, protocol, tls) for url in urls)
        if tls:  # SSL_GET runs as a task (the scheduler's path for checkers without start())
            self.start = None

    def start(self, loop: asyncio.AbstractEventLoop, done, now: float | None = None):  # noqa: F811 (None for TLS)
        """Plain HTTP on callbacks (check/http_attempt.py); ``.cancel()`` on the result aborts."""
        return HttpAttempt(self, loop, done, now)

    def config_key(self) -> tuple:
        return (*super().config_key(), self.urls, self.protocol, self.sni, self.client_key)

    async def check(self) -> CheckResult:
        if not self.tls:
            return await run_attempt(self.start)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for url in self.urls:
            try:
                code, body = await fetch(self.target, url, self.protocol, self.tls, self.sni,
                                         want_body=url.needs_body, context=self.context)
            except (OSError, TimeoutError, ssl.SSLError, UrlFailure, ValueError) as err:
                return CheckResult(False, f"{url.path}: {describe(err)}", loop.time() - start)
            if not url.accepts(code):
                return CheckResult(False, f"{url.path}: status {code}", loop.time() - start)
            fault = url.body_fault(body) if url.needs_body else None
            if fault is not None:
                return CheckResult(False, fault, loop.time() - start)
        return CheckResult(True, "ok", loop.time() - start)
