"""Mutated configs: the judge never raises, and every problem it reports is located.

The seeds are the articles' configs in ``seeds/``; hypothesis flips and
inserts bytes (NUL, 0xff, 0x80, quotes, braces, ``include`` lines), truncates
and duplicates slices, in the main file and in a file it includes. Each load
must return diagnostics, each ``FILE:LINE:COL`` in one of the files, printable
as UTF-8 without control characters, and do an amount of work bounded by the
input's size (a count of function calls, not wall time).

``make fuzz`` runs 10,000 inputs (CONFIG_FUZZ_EXAMPLES); the unit suite runs 300.
"""

from __future__ import annotations

import cProfile
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pykeepalived.config.loader import load_config

SEEDS = sorted((Path(__file__).parent / "seeds").glob("*.conf"))
SEED_BYTES = [p.read_bytes() for p in SEEDS]
EXAMPLES = int(os.environ.get("CONFIG_FUZZ_EXAMPLES", "300"))

ODD_BYTES = [b"\x00", b"\xff", b"\x80", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\x1b", b"\x7f", b"\r",
             b'"', b'\\"', b"{", b"}", b"{{{{", b"}}}}", b"\n", b" ", b"!", b"#", b"@", b"$X=",
             b"9" * 5000, b"1e999", b"-1", b"\xd9\xa1", b"\xc2\xa0", b"\t", b"::", b"/", b"-"]
INCLUDE_LINES = [b"\ninclude inc.conf\n", b"\ninclude *.conf\n", b"\ninclude main.conf\n",
                 b"\ninclude missing.conf\n", b"\ninclude sub\n", b"\ninclude\n", b"\ninclude \"inc.conf\n",
                 b"\ninclude inc.conf inc.conf\n", b"include \xff.conf\n", b"\ninclude in\x00c.conf\n",
                 b"\ninclude sub/*\n", b"\ninclude [\n"]
# What a work-bound failure would look like is a runaway, not a slow machine: the
# bound is two orders of magnitude above what the seeds cost per byte.
CALLS_PER_BYTE = 400
CALLS_FIXED = 100_000
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


@st.composite
def mutated(draw, data: bytes | None = None) -> bytes:
    data = bytearray(draw(st.sampled_from(SEED_BYTES)) if data is None else data)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "insert", "include", "truncate", "duplicate", "delete"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(ODD_BYTES) | st.binary(min_size=1, max_size=8))
        elif op == "include":
            data[at:at] = draw(st.sampled_from(INCLUDE_LINES))
        elif op == "truncate":
            del data[at:]
        elif op == "duplicate":
            end = draw(st.integers(at, min(len(data), at + 400)))
            where = draw(st.integers(0, len(data)))
            data[where:where] = data[at:end] * draw(st.integers(1, 3))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 40))]
    return bytes(data)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "sub").mkdir()
    (root / "sub" / "x.conf").write_bytes(SEED_BYTES[0][:300])
    return root


def judge(path: Path) -> tuple[list, int]:
    """load_config's diagnostics and the number of function calls it made."""
    prof = cProfile.Profile()
    prof.enable()
    try:
        _config, diags = load_config(str(path))
    finally:
        prof.disable()
    return diags.items, sum(s.callcount for s in prof.getstats())


def check_located(items: list, files: set[str]) -> None:
    for d in items:
        line = str(d)
        assert d.location.file in files, line
        assert d.location.line >= 1 and d.location.col >= 1, line
        assert line.startswith(f"{d.location.file}:{d.location.line}:{d.location.col}: {d.severity}: "), line
        line.encode("utf-8")  # printable on stderr: no lone surrogates
        assert not CONTROL.search(line), repr(line)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 300,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(main=mutated(), inc=st.none() | mutated())
def test_mutated_configs_give_located_diagnostics(workdir: Path, main: bytes, inc: bytes | None) -> None:
    main_path, inc_path = workdir / "main.conf", workdir / "inc.conf"
    main_path.write_bytes(main)
    if inc is None:
        inc_path.unlink(missing_ok=True)
    else:
        inc_path.write_bytes(inc)
    items, calls = judge(main_path)
    files = {str(main_path), str(inc_path), str(workdir / "sub" / "x.conf")}
    check_located(items, files)
    size = len(main) + len(inc or b"") + 300
    assert calls <= CALLS_FIXED + CALLS_PER_BYTE * size * 4, (calls, size)
