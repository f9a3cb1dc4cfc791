import ssl

import pytest

from .helpers import make_cert


@pytest.fixture(scope="session")
def server_tls(tmp_path_factory) -> ssl.SSLContext:
    cert, key = make_cert(tmp_path_factory.mktemp("tls"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx
