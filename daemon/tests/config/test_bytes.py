"""Bytes the parser does not expect: each is an error at its own line and column."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.config.errors import MAX_PER_FILE
from pykeepalived.config.loader import load_config

HEAD = b"vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n"


def problems(tmp_path: Path, data: bytes, name: str = "k.conf") -> list[str]:
    path = tmp_path / name
    path.write_bytes(data)
    _, diags = load_config(str(path))
    return [str(d).replace(f"{tmp_path}/", "") for d in diags.sorted()]


def test_invalid_utf8_in_an_address_is_one_error_and_parsing_goes_on(tmp_path: Path) -> None:
    data = HEAD + b" virtual_ipaddress {\n  192.0.2.\xff/24\n }\n priority 300\n}\n"
    assert problems(tmp_path, data) == [
        "k.conf:5:11: error: invalid UTF-8 byte 0xff (the file must be UTF-8)",
        "k.conf:7:2: error: priority: value must be at most 255 (got 300)",
    ]


def test_nul_and_other_control_characters_are_errors_where_they_are(tmp_path: Path) -> None:
    data = HEAD + b" unicast_src_ip 192.0.\x002.1\n notify_master \"/bin/true\x1b[0m\"\n}\n"
    assert problems(tmp_path, data) == [
        "k.conf:4:23: error: control character NUL (0x00) in a word or string",
        "k.conf:5:26: error: control character ESC (0x1b) in a word or string",
    ]


def test_odd_bytes_in_comments_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf! caf\xe9 \x00\r\n" + HEAD.replace(b"\n", b"\r\n") + b" priority 100 # \xff\r\n}\r\n"
    assert [p for p in problems(tmp_path, data) if ": error:" in p] == []


def test_unterminated_string_with_a_bad_byte_says_both(tmp_path: Path) -> None:
    data = HEAD + b' notify_master "/bin/\xfftrue\n}\n'
    assert problems(tmp_path, data) == [
        "k.conf:4:2: error: 'notify_master' needs at least 1 argument, got 0",
        "k.conf:4:16: error: unterminated quoted string",
        "k.conf:4:22: error: invalid UTF-8 byte 0xff (the file must be UTF-8)",
    ]


def test_bad_bytes_in_an_included_file_name_that_file(tmp_path: Path) -> None:
    (tmp_path / "inc.conf").write_bytes(HEAD + b" priority 1\xc3\n}\n")
    assert problems(tmp_path, b"include inc.conf\n") == [
        "inc.conf:4:12: error: invalid UTF-8 byte 0xc3 (the file must be UTF-8)",
    ]


def test_include_of_a_device_is_refused_not_read_forever(tmp_path: Path) -> None:
    assert problems(tmp_path, b"include /dev/zero\n") == [
        "k.conf:1:9: error: include: /dev/zero is not a regular file",
    ]


def test_numbers_are_ascii_digits_and_huge_ones_are_plain_errors(tmp_path: Path) -> None:
    data = HEAD.replace(b"51", "\u0665\u0661".encode()) + b" priority 1_0\n advert_int 1e999\n" \
        + b" garp_master_delay " + b"9" * 5000 + b"\n}\n"
    assert problems(tmp_path, data) == [
        "k.conf:3:20: error: virtual_router_id: expected an integer, got '\u0665\u0661'",
        "k.conf:4:11: error: priority: expected an integer, got '1_0'",
        "k.conf:5:13: error: advert_int: expected a finite number, got '1e999'",
        "k.conf:6:20: error: garp_master_delay: an integer with 5000 digits is out of any range",
    ]


def test_a_flood_of_errors_stops_after_the_limit(tmp_path: Path) -> None:
    lines = problems(tmp_path, b"} " * 100_000 + b"\nnot_a_keyword\n")
    assert len(lines) == MAX_PER_FILE + 1
    assert lines[0] == "k.conf:1:1: error: unexpected '}' with no block open"
    assert lines[-1] == (f"k.conf:1:{2 * MAX_PER_FILE + 1}: error: too many errors in this file; stopping here; "
                         f"the first {MAX_PER_FILE} are listed, fix those and run again")


def test_a_long_bad_word_is_not_echoed_whole(tmp_path: Path) -> None:
    (line,) = [p for p in problems(tmp_path, b"x" * 100_000 + b"\n") if ": error:" in p]
    assert line == f"k.conf:1:1: error: unknown keyword '{'x' * 60}... (100000 characters)' in the top level"
