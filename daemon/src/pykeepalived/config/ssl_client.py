"""SSL_GET's TLS context, with the top-level ``SSL { }`` block's client certificate.

keepalived 2.2.7 (check_ssl.c) loads ``certificate`` as a chain, ``key`` with
``password`` as its passphrase and ``ca`` as its trust store, and verifies no
server certificate (it checks that the service answers); ``ca`` then only
helps complete the chain it presents.  Here the config's loading reads the
files once, so that a missing or unreadable one is an error at its line;
a reload reads them again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .model_lvs import SslClient

if TYPE_CHECKING:
    import ssl


def _no_password() -> bytes:
    return b""


def client_context(client: SslClient | None = None) -> ssl.SSLContext:
    """A client context that verifies no server; with ``client``, presents its certificate.
    Raises OSError (ssl.SSLError is one) / ValueError when a file cannot be used.  ``ssl`` (OpenSSL,
    ~1.5 MB) is imported here, when a config has SSL: not by every process that reads a config."""
    import ssl  # noqa: PLC0415

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if client is None:
        return ctx
    if client.key is not None and client.certificate is None:
        raise ValueError("SSL: 'key' without 'certificate' presents nothing")
    if client.certificate is not None:
        # without 'key', the key is read from the certificate file (OpenSSL's PEM bundle)
        # no password: an encrypted key fails here rather than OpenSSL asking on a terminal
        ctx.load_cert_chain(client.certificate, client.key,
                            client.password if client.password is not None else _no_password)
    if client.ca is not None:
        ctx.load_verify_locations(cafile=client.ca)
    return ctx
