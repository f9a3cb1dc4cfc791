"""Comments, quoting, braces and include with globs."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.config.errors import Diagnostics
from pykeepalived.config.lexer import tokenize_file, tokenize_text
from pykeepalived.config.loader import load_config


def texts(src: str) -> list[str]:
    return [t.text for t in tokenize_text(src, "t", Diagnostics())]


def test_comments_quotes_and_attached_braces() -> None:
    src = 'a b ! comment\n# whole line\nVG_1{ "x y" pa#ss }\n"esc \\"q\\""\n'
    assert texts(src) == ["a", "b", "VG_1", "{", "x y", "pa#ss", "}", 'esc "q"']


def test_locations_are_one_based_line_and_column() -> None:
    toks = tokenize_text("global_defs {\n\trouter_id  X\n}", "f.conf", Diagnostics())
    assert [(t.text, t.loc.line, t.loc.col, t.first) for t in toks] == [
        ("global_defs", 1, 1, True), ("{", 1, 13, False), ("router_id", 2, 2, True),
        ("X", 2, 13, False), ("}", 3, 1, True)]


def test_include_glob_is_relative_to_the_including_file(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "b.conf").write_text("vrrp_instance B {\n interface eth0\n virtual_router_id 2\n}\n")
    (tmp_path / "conf.d" / "a.conf").write_text("vrrp_instance A {\n interface eth0\n virtual_router_id 1\n}\n")
    main = tmp_path / "keepalived.conf"
    main.write_text("include conf.d/*.conf\ninclude empty.d/*.conf\n")
    config, diags = load_config(str(main))
    assert not diags.errors, diags.items
    assert list(config.vrrp_instances) == ["A", "B"]  # sorted glob order
    assert config.vrrp_instances["B"].loc.file.endswith("conf.d/b.conf")


def test_errors_in_included_files_name_that_file(tmp_path: Path) -> None:
    (tmp_path / "bad.conf").write_text("vrrp_instance A {\n interface eth0\n virtual_router_id 999\n}\n")
    main = tmp_path / "main.conf"
    main.write_text("include bad.conf\n")
    _, diags = load_config(str(main))
    (err,) = diags.errors
    assert str(err).startswith(f"{tmp_path}/bad.conf:3:2: error: virtual_router_id")


def test_missing_include_and_loops_are_errors(tmp_path: Path) -> None:
    loop = tmp_path / "loop.conf"
    loop.write_text("include loop.conf\n")
    main = tmp_path / "main.conf"
    main.write_text("include nothere.conf\ninclude loop.conf\n")
    diags = Diagnostics()
    tokenize_file(str(main), diags)
    messages = [d.message for d in diags.errors]
    assert any("no such file" in m for m in messages)
    assert any("include loop" in m for m in messages)
