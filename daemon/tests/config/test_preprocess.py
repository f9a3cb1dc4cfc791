"""keepalived's conditional lines (@ID) and $PARAM substitution (config/preprocess.py)."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.config.errors import Diagnostics
from pykeepalived.config.loader import load_config, loads_config
from pykeepalived.config.preprocess import Preprocessor

INSTANCE = """vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
{body}
    virtual_ipaddress {{
        192.0.2.10/24
    }}
}}
"""


def lines(text: str, config_id: str = "main") -> tuple[list[tuple[int, str]], Diagnostics]:
    diags = Diagnostics()
    out = [(n, t) for n, t in Preprocessor(config_id).lines(text, "/etc/k/k.conf", diags) if t.strip()]
    return out, diags


def test_conditional_lines_keep_their_line_and_column() -> None:
    out, _ = lines("@main router_id a\n@backup router_id b\n@^main router_id c\n  @^backup x y\n@main\n")
    assert out == [(1, "      router_id a"), (4, "           x y")]


def test_man_page_example_unicast_peers() -> None:
    text = INSTANCE.format(body="""    unicast_src_ip 192.0.2.1
    unicast_peer {
        @^main    192.0.2.4
        @^backup  192.0.2.5
        @^backup2 192.0.2.6
    }""")
    config, diags = loads_config(text, config_id="main")
    assert not diags.errors, diags.errors
    assert [str(p.address) for p in config.vrrp_instances["VI_1"].unicast_peer] == ["192.0.2.5", "192.0.2.6"]


def test_substitution_happens_at_use_time_and_recursively() -> None:
    out, _ = lines("$BASE=10.2.${SUB}\n$SUB=0\n${BASE}.100/32\n$SUB=10\n${BASE}.100/32\n")
    assert [t for _, t in out] == ["10.2.0.100/32", "10.2.10.100/32"]


def test_bare_name_needs_a_blank_after_it_and_undefined_is_left_alone() -> None:
    out, _ = lines("$A=x\n$A y $Ab ${A}b $UNDEF ${UNDEF}\n")
    assert out == [(2, "x y $Ab xb $UNDEF ${UNDEF}")]


def test_conditional_definition_and_parameter_made_conditional() -> None:
    out, _ = lines("@main $P=240\n@backup $P=200\npriority $P\n$IF_MAIN=@main\n$IF_MAIN priority 1\n")
    assert [t.strip() for _, t in out] == ["priority 240", "priority 1"]
    out, _ = lines("$IF_MAIN=@main\n$IF_MAIN priority 1\n", config_id="backup")
    assert out == []


def test_multi_line_parameter_expands_where_used_with_that_line_number() -> None:
    text = "$VS= \\\nvirtual_server 10.0.${N}.4 80 { \\\n  quorum 2 \\\n}\n$N=0\n$VS\n$N=1\n  $VS\n"
    out, diags = lines(text)
    assert not diags.errors
    assert out == [(6, "virtual_server 10.0.0.4 80 { "), (6, "  quorum 2 "), (6, "}"),
                   (8, "virtual_server 10.0.1.4 80 { "), (8, "  quorum 2 "), (8, "}")]


def test_predefined_parameters(tmp_path: Path) -> None:
    diags = Diagnostics()
    out = list(Preprocessor("node7").lines("${_PWD} ${_INSTANCE} pa${_BANG}s${_HASH}", str(tmp_path / "k"), diags))
    assert out == [(1, f"{tmp_path} node7 pa!s#")]


def test_errors_are_located() -> None:
    _, diags = lines("$A=${A}x\n${A}\n")
    assert [(d.location.line, "deeper than" in d.message) for d in diags.errors] == [(2, True)]
    _, diags = lines("$M=a \\\nb\nx $M y\n")
    assert "must stand alone" in diags.errors[0].message and diags.errors[0].location.line == 3
    _, diags = lines("$M=a \\")
    assert "never ends" in diags.errors[0].message
    _, diags = lines("  ~SEQ(X, 0, 0, 3) 10.0.${X}.1\n")
    assert str(diags.errors[0]).startswith("/etc/k/k.conf:1:11: error: ~SEQ step 0 never gets from 0 to 3")


def test_undefined_parameter_as_a_statement_is_an_error() -> None:
    _, diags = loads_config(INSTANCE.format(body="    $PRIO"), "k.conf")
    assert [str(d) for d in diags.errors] == ["k.conf:4:5: error: parameter '$PRIO' is not defined "
                                              "(define it first: $NAME=VALUE)"]


def test_parameters_flow_through_includes_in_line_order(tmp_path: Path) -> None:
    (tmp_path / "defs.conf").write_text("$VRID=42\n")
    (tmp_path / "vi.conf").write_text(INSTANCE.format(body="    priority $PRIO").replace("51", "$VRID")
                                      .replace("VI_1", "VI_$PRIO"))
    (tmp_path / "k.conf").write_text("include defs.conf\n$PRIO=100\ninclude vi.conf\n")
    config, diags = load_config(str(tmp_path / "k.conf"))
    assert not diags.errors, [str(d) for d in diags.errors]
    inst = config.vrrp_instances["VI_100"]
    assert (inst.virtual_router_id, inst.priority) == (42, 100)


def test_cli_config_id_flag(tmp_path: Path) -> None:
    from pykeepalived.cli import daemon_parser

    assert daemon_parser().parse_args(["-i", "backup"]).config_id == "backup"
    assert daemon_parser().parse_args(["--config-id", "x"]).config_id == "x"


def test_check_unicast_src_is_accepted_as_always_on() -> None:
    text = "global_defs {\n    vrrp_check_unicast_src\n}\n" + INSTANCE.format(
        body="    check_unicast_src\n    unicast_peer {\n        192.0.2.2\n    }")
    config, diags = loads_config(text)
    assert not diags.errors and not diags.warnings, diags.items
    assert [str(p.address) for p in config.vrrp_instances["VI_1"].unicast_peer] == ["192.0.2.2"]


def test_self_doubling_parameters_are_bounded() -> None:
    _, diags = lines("$A=${A}${A}x\n${A}\n")
    assert diags.errors and "longer than" in diags.errors[0].message
    _, diags = lines("$M= \\\n$M \\\n$M\n$M\n")
    assert diags.errors
