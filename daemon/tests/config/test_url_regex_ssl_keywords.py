"""url regex_* keywords and the top-level SSL block: values, keepalived's quoting, errors at
file:line:col, and render() reading back the same model."""

from __future__ import annotations

import subprocess

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.config.render import render
from pykeepalived.config.url_regex import unescape_word


def url_config(*lines: str) -> str:
    body = "\n".join(f"                {line}" for line in lines)
    return f"""virtual_server 192.0.2.1 80 {{
    real_server 192.0.2.2 80 {{
        HTTP_GET {{
            url {{
                path /
{body}
            }}
        }}
    }}
}}
"""


def errors(text: str) -> list[str]:
    _config, diags = loads_config(text, "k.conf")
    return [f"{d.location}: {d.message}" for d in diags.errors]


def first_url(text: str):
    config, diags = loads_config(text, "k.conf")
    assert not diags.errors, diags.errors
    return config, config.virtual_servers[0].real_servers[0].checkers[0].url[0]


def test_all_regex_keywords_read_and_render_back():
    config, url = first_url(url_config(r"regex \\d+\x20'ok'", "regex_no_match", "regex_options caseless utf ucp",
                                       "regex_min_offset 3", "regex_max_offset 300", "regex_stack 32768 524288"))
    assert (url.regex, url.regex_no_match, url.regex_options) == (r"\d+ ok", True, ("caseless", "utf", "ucp"))
    assert (url.regex_min_offset, url.regex_max_offset, url.regex_stack) == (3, 300, (32768, 524288))
    again, diags = loads_config(render(config))
    assert not diags.errors
    assert again.virtual_servers[0].real_servers[0].checkers[0].url[0] == url


@pytest.mark.parametrize("word, text", [
    (r"\\d", r"\d"), (r"a\tb", "a\tb"), (r"\x41\101\cA", "AA\x01"), ("'a#b'c", "a#bc"), (r"\.", "."),
    (r"\xffz", "\udcffz"),  # a byte above 0x7f stays that one byte once encoded
])
def test_bare_words_take_keepalived_escapes(word, text):
    assert unescape_word(word) == text


@pytest.mark.parametrize("lines, expected", [
    (["regex (a"], "k.conf:6:23: regex '(a' does not compile at offset 0: missing ), unterminated subpattern"),
    (["regex a", "regex_options ungreedy"], "k.conf:7:31: regex_options: regex option 'ungreedy' is not supported"),
    (["regex a", "regex_options caseless nosuch"], "k.conf:7:40: regex_options: unknown regex option 'nosuch'"),
    (["regex a", "regex_options ucp"], "k.conf:6:23: regex option 'ucp' without 'utf'"),
    (["regex_no_match"], "k.conf:6:17: regex_no_match without regex in this url"),
    (["regex a", "regex_min_offset 9", "regex_max_offset 8"], "k.conf:7:17: regex_min_offset 9 is above"),
    (["regex a", "regex_max_offset -1"], "k.conf:7:34: regex_max_offset: a byte offset cannot be negative"),
    (["regex a", "regex_stack 9 8"], "k.conf:7:17: regex_stack: regex_stack START MAX: need 0 <= start <= max"),
    (["regex 'a"], "k.conf:6:23: regex: missing terminating '"),
])
def test_regex_errors_say_where(lines, expected):
    found = errors(url_config(*lines))
    assert any(e.startswith(expected) for e in found), found


def ssl_block(**files: str) -> str:
    lines = "\n".join(f"    {name} {value}" for name, value in files.items())
    return f"SSL {{\n{lines}\n}}\n" + url_config().replace("HTTP_GET", "SSL_GET")


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("sslcfg")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=c",
                    "-keyout", str(d / "c.key"), "-out", str(d / "c.pem")], check=True, capture_output=True)
    (d / "garbage.pem").write_text("not a certificate\n")
    return d


def test_ssl_block_reads_and_renders_back(cert):
    text = ssl_block(certificate=cert / "c.pem", key=cert / "c.key", ca=cert / "c.pem", password='"pass word"')
    config, diags = loads_config(text)
    assert not diags.errors, diags.errors
    assert (config.ssl.certificate, config.ssl.key, config.ssl.password) == (
        str(cert / "c.pem"), str(cert / "c.key"), "pass word")
    again, diags = loads_config(render(config))
    assert not diags.errors and again.ssl == config.ssl


def test_ssl_block_errors_say_where(cert):
    assert errors(ssl_block(certificate=cert / "nosuch.pem")) == [
        f"k.conf:2:5: SSL certificate '{cert / 'nosuch.pem'}': No such file or directory"]
    [found] = errors(ssl_block(certificate=cert / "garbage.pem"))
    assert found.startswith("k.conf:1:1: SSL: cannot use these files: ")
    assert errors(ssl_block(key=cert / "c.key")) == ["k.conf:1:1: SSL: cannot use these files: "
                                                     "SSL: 'key' without 'certificate' presents nothing"]
    assert any("SSL" in e and "inside" not in e for e in errors("global_defs {\n    SSL {\n    }\n}\n"))
