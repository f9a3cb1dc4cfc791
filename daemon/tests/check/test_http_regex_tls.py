"""url ``regex`` and the SSL block's client certificate, from config text to a check against real
loopback servers; TLS servers that require a client certificate signed by a CA made in tmp_path."""

from __future__ import annotations

import hashlib
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from pykeepalived.check.build import build_checkers
from pykeepalived.check.health import HealthChecker
from pykeepalived.check.http import HttpChecker, UrlSpec
from pykeepalived.config.loader import loads_config
from pykeepalived.config.model_lvs import SslClient
from pykeepalived.config.ssl_client import client_context
from pykeepalived.config.url_regex import compile_regex

from .helpers import Switch, aio, port_of, start_http, target
from .test_health import until

BODY = "<html>status: OK, 42 backends, caf\u00e9</html>\n".encode()


def openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A throwaway CA, a server certificate and a client certificate (key under a passphrase)."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
            "-keyout", d / "ca.key", "-out", d / "ca.pem")
    for name, extra in (("server", ["-nodes"]), ("client", ["-passout", "pass:s3cret"])):
        openssl("req", "-newkey", "rsa:2048", *extra, "-subj", f"/CN={name}",
                "-keyout", d / f"{name}.key", "-out", d / f"{name}.csr")
        openssl("x509", "-req", "-in", d / f"{name}.csr", "-CA", d / "ca.pem", "-CAkey", d / "ca.key",
                "-CAcreateserial", "-days", "2", "-out", d / f"{name}.pem")
    return {p.stem if p.suffix == ".pem" else p.name: p for p in d.iterdir()}


def requiring_client_cert(pki) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki["server"], pki["server.key"])
    ctx.load_verify_locations(pki["ca"])
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def url(path: str = "/", regex: str | None = None, options: tuple[str, ...] = (), **kw) -> UrlSpec:
    return UrlSpec(path, regex=compile_regex(regex, options) if regex is not None else None, **kw)


async def run(server, urls, tls=False, client=None):
    async with server:
        return await HttpChecker(target(port_of(server)), urls, tls, client=client).check()


@pytest.mark.parametrize("spec, ok", [
    (url(regex=r"\d+ backends"), True),
    (url(regex=r"status: FAIL"), False),
    (url(regex=r"status: FAIL", regex_no_match=True), True),
    (url(regex=r"status", regex_no_match=True), False),
    (url(regex=r"STATUS: ok", options=("caseless",)), True),
    (url(regex=r"STATUS: ok"), False),
    (url(regex=r"caf\w"), False),  # bytes: \w is one ASCII byte, é is two
    (url(regex="caf\u00e9</html>$", options=("utf",)), True),
    (url(regex=r"caf\w<", options=("utf",)), False),  # utf without ucp: \w stays ASCII
    (url(regex=r"caf\w<", options=("utf", "ucp")), True),
    (url(regex=r"status", regex_min_offset=6), True),  # "status" starts at byte 6
    (url(regex=r"status", regex_min_offset=7), False),
    (url(regex=r"(?<=<html>)status", regex_min_offset=6), True),  # a lookbehind looks before min
    (url(regex=r"42", regex_max_offset=len("<html>status: OK, ")), True),
    (url(regex=r"42", regex_max_offset=len("<html>status: OK, ") - 1), False),
])
@aio
async def test_http_get_regex(spec, ok):
    result = await run(await start_http(Switch(), body=BODY), (spec,))
    assert result.ok is ok, result.reason
    if not ok:
        assert result.reason.startswith("/: regex ")


@aio
async def test_regex_after_status_and_with_digest():
    result = await run(await start_http(Switch("status500"), body=BODY), (url(regex="OK"),))
    assert (result.ok, result.reason) == (False, "/: status 500")
    digest = hashlib.md5(BODY).hexdigest()
    result = await run(await start_http(Switch(), body=BODY), (url(regex="FAIL", digest=digest),))
    assert (result.ok, result.reason) == (False, "/: regex did not match")


@aio
async def test_ssl_get_regex(server_tls):
    result = await run(await start_http(Switch(), body=BODY, ssl=server_tls), (url(regex=r"\d+ backends"),), True)
    assert result.ok, result.reason
    result = await run(await start_http(Switch(), body=BODY, ssl=server_tls), (url(regex="FAIL"),), True)
    assert (result.ok, result.reason) == (False, "/: regex did not match")


@aio
async def test_ssl_get_presents_the_client_certificate(pki):
    switch = Switch()
    server = await start_http(switch, body=BODY, ssl=requiring_client_cert(pki))
    without = await run(server, (url(),), True)
    assert not without.ok and switch.hits == 0  # the handshake failed: no request was read
    client = SslClient(ca=str(pki["ca"]), certificate=str(pki["client"]), key=str(pki["client.key"]),
                       password="s3cret")
    server = await start_http(switch, body=BODY, ssl=requiring_client_cert(pki))
    result = await run(server, (url(regex="OK"),), True, client)
    assert result.ok, result.reason
    assert switch.hits == 1


def test_client_context_refuses_bad_key_material(pki):
    with pytest.raises(ssl.SSLError):
        client_context(SslClient(certificate=str(pki["client"]), key=str(pki["client.key"]), password="wrong"))
    with pytest.raises(ssl.SSLError):  # encrypted, no password: an error, never a prompt on the terminal
        client_context(SslClient(certificate=str(pki["client"]), key=str(pki["client.key"])))


CONFIG = """
SSL {
    ca %(ca)s
    certificate %(client)s
    key %(key)s
    password s3cret
}
virtual_server 127.0.0.1 %(port)d {
    protocol TCP
    real_server 127.0.0.1 %(port)d {
        SSL_GET {
            connect_timeout 2
            url {
                path /health
                regex "\\\\d+ backends"
                regex_max_offset 40
            }
            url {
                path /again
                regex \\\\d+\\x20'backends'
            }
        }
    }
}
"""


@aio
async def test_from_config_text_to_a_passing_check(pki):
    switch = Switch()
    server = await start_http(switch, body=BODY, ssl=requiring_client_cert(pki))
    text = CONFIG % {"ca": pki["ca"], "client": pki["client"], "key": pki["client.key"], "port": port_of(server)}
    config, diags = loads_config(text)
    assert not diags.errors, diags.errors
    vs = config.virtual_servers[0]
    rs = vs.real_servers[0]
    # keepalived's quoting: "\\d" and bare \\d are \d, \x20 a space (all hex digits after \x count), quotes dropped
    assert [u.regex for u in rs.checkers[0].url] == [r"\d+ backends"] * 2
    [(checker, _timing)] = build_checkers(rs.checkers[0], rs, vs, ssl_client=config.ssl)
    async with server:
        result = await checker.check()
    assert result.ok, result.reason
    assert switch.last_request.startswith(b"GET /again HTTP/1.0\r\n")


@aio
async def test_a_reload_after_the_certificate_is_renewed_makes_the_checker_anew(pki, tmp_path):
    """Same config text, the client certificate file replaced: the SSL_GET is built again with the
    new file (keepalived reads the files on every reload); the other checker keeps its job."""
    cert = tmp_path / "client.pem"
    shutil.copy(pki["client"], cert)
    switch = Switch()
    server = await start_http(switch, body=BODY, ssl=requiring_client_cert(pki))
    text = (CONFIG % {"ca": pki["ca"], "client": cert, "key": pki["client.key"], "port": port_of(server)}).replace(
        "        SSL_GET {", "        TCP_CHECK {\n        }\n        SSL_GET {").replace("connect_timeout 2", "delay_loop 0.2")
    config, diags = loads_config(text)
    assert not diags.errors, diags.errors
    hc = HealthChecker()
    async with server:
        hc.load(config)
        try:
            jobs = {job.checker.kind: job for job in hc.scheduler.jobs}
            await until(lambda: jobs["SSL_GET"].runs >= 1)
            assert jobs["SSL_GET"].state.last.ok, jobs["SSL_GET"].state.last
            hc.load(config)  # nothing changed: every job kept
            assert {job.checker.kind: job for job in hc.scheduler.jobs} == jobs
            openssl("x509", "-req", "-in", pki["client.csr"], "-CA", pki["ca"], "-CAkey", pki["ca.key"],
                    "-CAcreateserial", "-days", "3", "-out", cert)  # renewed in place
            hc.load(config)
            renewed = {job.checker.kind: job for job in hc.scheduler.jobs}
            assert renewed["TCP_CHECK"] is jobs["TCP_CHECK"]
            assert renewed["SSL_GET"] is not jobs["SSL_GET"]
            assert renewed["SSL_GET"].checker.context is not jobs["SSL_GET"].checker.context
            await until(lambda: renewed["SSL_GET"].runs >= 1)
            assert renewed["SSL_GET"].state.last.ok, renewed["SSL_GET"].state.last
        finally:
            await hc.stop()
