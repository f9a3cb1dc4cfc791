"""FILE_CHECK: the verdict rule (pure) and the checker reading a real file."""

from __future__ import annotations

from pykeepalived.check.file import FAULT, FileChecker, parse_value, verdict

from .helpers import aio


def test_weight_zero_is_up_down_and_reverse_flips_it():
    assert verdict(0, 0, False, 1).ok and not verdict(7, 0, False, 1).ok
    assert not verdict(0, 0, True, 1).ok and verdict(7, 0, True, 1).ok
    assert verdict(0, 0, False, 1).weight is None  # weight 0 never moves the real server's weight


def test_nonzero_weight_adds_value_times_weight():
    assert verdict(4, 3, False, 10).weight == 22
    assert verdict(4, 3, True, 10).weight == -2  # clamped to 0 by the real server's evaluation
    low = verdict(-(2**30), 2, False, 10)
    assert not low.ok and str(FAULT) in low.reason


def test_value_parsing_as_track_file():
    assert parse_value("12\n") == 12 and parse_value("  -3 junk") == -3
    assert parse_value("") == 0 and parse_value("abc") == 0


@aio
async def test_checker_reads_the_file_and_init_file_creates_it(tmp_path):
    path = tmp_path / "value"
    checker = FileChecker(str(path), 2, False, 5, init_file=True)
    first = await checker.check()
    assert first.ok and first.weight == 5 and path.read_text() == "0\n"
    path.write_text("3\n")
    assert (await checker.check()).weight == 11
    missing = FileChecker(str(tmp_path / "absent"), 0, False, 5)
    assert (await missing.check()).ok and not (tmp_path / "absent").exists()
