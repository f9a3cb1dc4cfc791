"""Incremental parsing (config/blocks.py): unchanged top-level blocks are not parsed again."""
from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.config import blocks as blocks_mod
from pykeepalived.config.blocks import BlockCache
from pykeepalived.config.loader import load_config
from pykeepalived.core import judge as judge_mod
from pykeepalived.core.judge import judge


def vs(i: int, weight: int = 1, extra: str = "", kind: str = "NAT", port: int = 8080) -> str:
    return (f"virtual_server 192.0.2.{i} 80 {{\n    lb_algo wrr\n    lb_kind {kind}\n    protocol TCP\n"
            f"    real_server 198.51.100.{i} {port} {{\n        weight {weight}\n    }}\n{extra}}}\n")


def load(path: Path, cache: BlockCache, **kw):
    config, diags = load_config(str(path), cache=cache, **kw)
    if not diags.errors:
        cache.keep()
    return config, diags


def classic(path: Path):
    return load_config(str(path))


def test_unchanged_blocks_are_the_same_objects_and_equal_a_whole_parse(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("global_defs {\n    router_id a\n}\n" + vs(1) + vs(2) + vs(3))
    cache = BlockCache()
    first, diags = load(conf, cache)
    assert not diags.errors and cache.hits == 0
    second, diags = load(conf, cache)
    assert not diags.errors and cache.hits == 3
    assert all(a is b for a, b in zip(first.virtual_servers, second.virtual_servers))
    assert second == classic(conf)[0]


def test_a_changed_block_is_parsed_again_the_others_reused(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(vs(1) + vs(2) + vs(3))
    cache = BlockCache()
    first, _ = load(conf, cache)
    conf.write_text(vs(1) + vs(2, weight=7) + vs(3) + vs(4))
    second, diags = load(conf, cache)
    assert not diags.errors and cache.hits == 2
    assert second.virtual_servers[0] is first.virtual_servers[0]
    assert second.virtual_servers[2] is first.virtual_servers[2]
    assert second.virtual_servers[1].real_servers[0].weight == 7
    assert second == classic(conf)[0]


def test_an_error_in_a_changed_block_is_located_as_a_whole_parse_locates_it(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(vs(1) + vs(2) + vs(3))
    cache = BlockCache()
    load(conf, cache)
    conf.write_text(vs(1) + vs(2).replace("weight 1", "weight x") + vs(3))
    _, diags = load(conf, cache)
    want = [str(d) for d in classic(conf)[1].sorted()]
    assert [str(d) for d in diags.sorted()] == want
    assert want and want[0].startswith(f"{conf}:14:16:")  # the weight line of the second block


def test_blocks_moved_by_an_edit_report_their_new_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines added above reuse the blocks below (their objects keep their old locations); a
    judgment with something to report is made again, exactly, so every location is right."""
    monkeypatch.setattr(judge_mod, "_BLOCKS", [BlockCache()])
    conf = tmp_path / "k.conf"
    conf.write_text(vs(1) + vs(2) + vs(3))
    assert not judge(str(conf)).refused
    judge_mod.blocks().keep()
    conf.write_text(vs(1, extra="    real_server 198.51.100.9 8080 {\n    }\n") + vs(2) + vs(3))
    moved = judge(str(conf))
    assert not moved.refused and judge_mod.blocks().moved == 2  # reused although they moved
    judge_mod.blocks().keep()
    conf.write_text(vs(1, extra="    real_server 198.51.100.9 8080 {\n    }\n") + vs(2) + vs(3) + vs(3))
    dup = judge(str(conf))
    want = [str(d) for d in classic(conf)[1].sorted()]
    assert dup.refused and [str(d) for d in dup.diags.sorted()] == want
    assert want[0].startswith(f"{conf}:27:1:") and f"first at {conf}:19:1" in want[0]  # where it is now


def test_warnings_of_a_reused_block_are_reported_again(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(vs(1, kind="DR", port=81) + vs(2))
    cache = BlockCache()
    _, first = load(conf, cache)
    _, second = load(conf, cache)
    assert cache.hits == 2 and first.warnings
    assert [str(d) for d in second.sorted()] == [str(d) for d in first.sorted()]


def test_a_changed_included_file_reparses_only_its_blocks(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    for i in (1, 2, 3):
        (tmp_path / "conf.d" / f"{i}.conf").write_text(vs(i))
    conf = tmp_path / "k.conf"
    conf.write_text("global_defs {\n    router_id a\n}\ninclude conf.d/*.conf\n" + vs(4))
    cache = BlockCache()
    first, _ = load(conf, cache)
    (tmp_path / "conf.d" / "2.conf").write_text("! a comment line moves it\n" + vs(2, weight=3))
    second, diags = load(conf, cache)
    assert not diags.errors and cache.hits == 3
    assert [a is b for a, b in zip(first.virtual_servers, second.virtual_servers)] == [True, False, True, True]
    assert second == classic(conf)[0]
    assert second.virtual_servers[1].loc.file == str(tmp_path / "conf.d" / "2.conf")
    assert second.virtual_servers[1].loc.line == 2
    (tmp_path / "conf.d" / "3.conf").write_text(vs(3).replace("lb_algo wrr", "lb_algo nope"))
    _, diags = load(conf, cache)
    assert [str(d) for d in diags.sorted()] == [str(d) for d in classic(conf)[1].sorted()]
    assert str(tmp_path / "conf.d" / "3.conf") + ":2:" in str(diags.errors[0])


@pytest.mark.parametrize("text", [
    "$W=5\n" + vs(1).replace("weight 1", "weight $W"),  # the preprocessor
    vs(1).replace("    protocol TCP\n", "    protocol TCP\n    include nothing_*.conf\n"),  # include in a block
    "virtual_server 192.0.2.1 80 {\n    lb_algo wrr\n    protocol TCP\n} virtual_server 192.0.2.2 80 {\n"
    "    protocol TCP\n}\n",  # two blocks on one line
])
def test_what_cannot_be_cut_loads_as_a_whole(tmp_path: Path, text: str) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(text)
    cache = BlockCache()
    got, diags = load(conf, cache)
    want, want_diags = classic(conf)
    assert got == want and [str(d) for d in diags.sorted()] == [str(d) for d in want_diags.sorted()]


def test_an_include_on_the_first_line_and_indented_blocks_are_cut_too(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text(vs(1))
    conf = tmp_path / "k.conf"
    conf.write_text("include a.conf\n! a comment\n\n  " + vs(2) + "\t" + vs(3))
    cache = BlockCache()
    load(conf, cache)
    got, diags = load(conf, cache)
    assert cache.hits == 3 and not diags.items
    want, _ = classic(conf)
    assert got == want and [v.loc for v in got.virtual_servers] == [v.loc for v in want.virtual_servers]


def full_cut(text: str) -> tuple[list[int], list[int]]:
    starts = [0, *(m.start() + 1 for m in blocks_mod._PART_RE.finditer(text)), len(text)]
    return starts, [text.count("\n", 0, at) + 1 for at in starts[:-1]]


BASE = "global_defs {\n    router_id a\n}\n" + "".join(vs(i) for i in range(1, 9))
EDITS = [
    ("weight", lambda t: t.replace("weight 1", "weight 7", 1)),
    ("first char", lambda t: "# hi\n" + t),
    ("last char", lambda t: t + "vrrp_script s {\n    script /bin/true\n}\n"),
    ("vs removed", lambda t: t.replace(vs(4), "")),
    ("vs added in the middle", lambda t: t.replace(vs(5), vs(5) + vs(40))),
    ("keyword line broken", lambda t: t.replace("virtual_server 192.0.2.5", "xvirtual_server 192.0.2.5")),
    ("keyword line made", lambda t: t.replace("    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n    real_server 198.51.100.6",
                                              "    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\nvirtual_server 198.51.100.6", 1)),
    ("all of it", lambda t: vs(30) + vs(31)),
    ("to empty", lambda t: ""),
    ("lines joined", lambda t: t.replace("}\nvirtual_server 192.0.2.3", "} virtual_server 192.0.2.3")),
    ("crlf", lambda t: t.replace("\n", "\r\n", 40)),
]


@pytest.mark.parametrize("edit", [e for _, e in EDITS], ids=[n for n, _ in EDITS])
def test_a_recut_is_the_whole_cut_of_the_new_text(edit) -> None:
    for before in (BASE, "", vs(1), edit(BASE)):
        after = edit(before)
        starts, lines = full_cut(before)
        keys = [("f", before[a:b].encode()) for a, b in zip(starts, starts[1:])]
        cut = blocks_mod.Cut(b"", starts, lines, keys)
        new_starts, new_lines, new_keys = blocks_mod.recut(before, cut, after)
        assert (new_starts, new_lines) == full_cut(after)
        for (a, b), key in zip(zip(new_starts, new_starts[1:]), new_keys):
            assert key is None or key == ("f", after[a:b].encode())  # a kept key is of the same text


def test_a_reload_cuts_and_digests_only_the_changed_region(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(BASE)
    cache = BlockCache()
    first, _ = load(conf, cache)
    edited = BASE.replace(vs(5), vs(5, weight=4))
    conf.write_text(edited)
    second, diags = load(conf, cache)
    assert not diags.errors and cache.recut <= 3 and cache.hits == 7
    assert second == classic(conf)[0]
    conf.write_text("# two\n# lines\n" + edited)  # every block moved: its locations are of where it was parsed
    judged = load(conf, cache)[0]
    assert cache.recut <= 2 and cache.moved == 8
    assert judged.virtual_servers[0] is first.virtual_servers[0]


def test_the_parent_keeps_a_judges_cut_only_of_the_text_it_cut(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(BASE)
    judging, parent = BlockCache(), BlockCache()
    config, _ = load(conf, judging)
    parent.adopt(judging.keys_of(config.virtual_servers), config.virtual_servers, judging.cuts())
    assert str(conf) in parent.texts
    conf.write_text(BASE + vs(50))  # changed after the judge read it
    parent.adopt(judging.keys_of(config.virtual_servers), config.virtual_servers, judging.cuts())
    assert not parent.texts
