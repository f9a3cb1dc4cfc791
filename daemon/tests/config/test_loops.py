"""~SEQ/~LST loops (config/loops.py via config/preprocess.py), compared with keepalived 2.2.7's own expansion.

keepalived -t names every unknown keyword with its line ("(Line 3) Unknown keyword 'a_1'"),
so a loop whose body is an unknown word shows keepalived's expansion, in order; ours must match it.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from pathlib import Path

import pytest

from pykeepalived.cli import check_config
from pykeepalived.config.errors import Diagnostics
from pykeepalived.config.preprocess import Preprocessor

KEEPALIVED = "/usr/sbin/keepalived"
have_keepalived = pytest.mark.skipif(os.geteuid() != 0 or not os.access(KEEPALIVED, os.X_OK),
                                     reason="needs root and Debian's keepalived")

# Each: config text, and the first word of every line it expands to, with its line number.
EXPANSIONS = {
    "seq_forms": ("~SEQ(n, 0) one_$n\n~SEQ(n, -2) neg_$n\nafter_$n\n$N=3\n~SEQ(q, 2, $N) q_$q\n"
                  "~SEQ(i, 010) oct_$i\n~SEQ(k, 3, -1, 2) down_$k\n",
                  [(1, "one_1"), (1, "one_0"), (2, "neg_-1"), (2, "neg_-2"), (3, "after_-2"), (5, "q_2"), (5, "q_3")]
                  + [(6, f"oct_{i}") for i in range(1, 9)] + [(7, "down_3"), (7, "down_2")]),
    "hex": ("~SEQx(h, 8, 4, 0x10) hex_$h\n~SEQx(h, 0xfe, 0x101) k_$h\n",
            [(1, "hex_8"), (1, "hex_c"), (1, "hex_10"), (2, "k_fe"), (2, "k_ff"), (2, "k_100"), (2, "k_101")]),
    "lst": ("~LST(v, a, , c) v_$v\n\t~LST( { p ,q } , { 1 , 2 } ,3 )   j_$p$q   # comment ~SEQ(x,1)\n",
            [(1, "v_a"), (1, "v_"), (1, "v_c"), (2, "j_$p2"), (2, "j_3")]),
    "nested": ("~SEQ(i, 1, 3) ~LST({a,b}, {x,y}, {z}) kw_${i}_${a}_${b}\n~SEQ(i, 2) ~SEQ(j, $i, 3) h_${i}_$j\n",
               [(1, f"kw_{i}_{s}") for i in (1, 2, 3) for s in ("x_y", "z_")]
               + [(2, "h_1_1"), (2, "h_1_2"), (2, "h_1_3"), (2, "h_2_2"), (2, "h_2_3")]),
    "multi_line_and_definitions": (
        "$BLK=a_${i} \\\n  b_${i}\n~SEQ(i, 2) $BLK\n$IN=c_$k \\\n~SEQ(j, 1, $k) d_${k}_$j\n~SEQ(k, 3, -1, 2) $IN\n"
        "@main ~SEQ (m, 0x2) e_$m\n@other ~SEQ(m, 5) f_$m\n~SEQ(i, 2) $D${i}=val${i}\ni_$D1 i_$D2\n",
        [(3, "a_1"), (3, "b_1"), (3, "a_2"), (3, "b_2"), (6, "c_3"), (6, "d_3_1"), (6, "d_3_2"), (6, "d_3_3"),
         (6, "c_2"), (6, "d_2_1"), (6, "d_2_2"), (7, "e_1"), (7, "e_2"), (10, "i_val1")]),
}

# Each: a malformed loop keepalived refuses too, and the start of our located error.
REFUSED = {
    "~SEQ(i, 1, -1, 3) x_$i": "3:9: error: ~SEQ step -1 never gets from 1 to 3",
    "~SEQ(i) x_$i": "3:7: error: ~SEQ needs at least an end value",
    "~SEQx(i, -1) x_$i": "3:10: error: ~SEQx takes only numbers from 0 up",
    "~SEQ(i, a) x_$i": "3:9: error: ~SEQ value 'a' is not a number",
    "~SEQ i, 3) x_$i": "3:1: error: expected '(' after ~SEQ",
    "  ~SEQ(i, 3 x_$i": "3:9: error: ~SEQ(...) has no closing ')'",
    "~SEQ(i, 1, 2, 3, 4) x_$i": "3:9: error: ~SEQ takes at most START, STEP, END",
    "~LST(i) x_$i": "3:7: error: ~LST needs values after the names",
    "~LST({a}, {1,2}) x_$a": "3:12: error: ~LST value set has 2 values for 1 name",
    "~LST(i, a b) x_$i": "3:11: error: ~LST values are separated by ',' and end with ')'",
}


def ours(text: str, path: str) -> list[tuple[int, str]]:
    diags = Diagnostics()
    out = [(n, t.split()[0]) for n, t in Preprocessor("main").lines(text, path, diags) if t.strip()]
    assert not diags.items, [str(d) for d in diags.items]
    return out


def keepalived_expansion(path: Path) -> list[tuple[int, str]]:
    proc = subprocess.run([KEEPALIVED, "-t", "-l", "-n", "-i", "main", "-f", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    # keepalived parses the file once per process; the first pass is the one without the file name
    return [(int(m[1]), m[2]) for m in re.finditer(r"^\(Line (\d+)\) Unknown keyword '(.*)'$",
                                                   proc.stdout + proc.stderr, re.M)]


@pytest.mark.parametrize("name", sorted(EXPANSIONS))
def test_expansion(name: str) -> None:
    text, expected = EXPANSIONS[name]
    assert ours(text, "k.conf") == expected


@have_keepalived
@pytest.mark.parametrize("name", sorted(EXPANSIONS))
def test_expansion_is_keepalived_s(name: str, tmp_path: Path) -> None:
    text, _ = EXPANSIONS[name]
    path = tmp_path / "k.conf"
    path.write_text(text)
    assert ours(text, str(path)) == keepalived_expansion(path)


def check(path: Path) -> tuple[int, list[str]]:
    err = io.StringIO()
    code = check_config(str(path), out=io.StringIO(), err=err)
    return code, [line for line in err.getvalue().splitlines() if ": error: " in line]


@pytest.mark.parametrize("line", sorted(REFUSED))
def test_malformed_loop_is_a_located_error(line: str, tmp_path: Path) -> None:
    path = tmp_path / "k.conf"
    path.write_text(f"global_defs {{\n}}\n{line}\n")
    code, errors = check(path)
    assert code == 1 and len(errors) == 1 and errors[0].startswith(f"{path}:{REFUSED[line]}"), errors


@have_keepalived
@pytest.mark.parametrize("line", sorted(REFUSED))
def test_keepalived_refuses_it_too(line: str, tmp_path: Path) -> None:
    path = tmp_path / "k.conf"
    path.write_text(f"global_defs {{\n}}\n{line}\n")
    proc = subprocess.run([KEEPALIVED, "-t", "-l", "-n", "-f", str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0 and re.search(r"~SEQ|~LST", proc.stdout + proc.stderr), proc.stdout


def test_loop_builds_a_real_config(tmp_path: Path) -> None:
    """The man page's use: one instance per VRID, addresses from a ~SEQ."""
    path = tmp_path / "k.conf"
    path.write_text("$INST=vrrp_instance VI_${i} { \\\n interface lo \\\n virtual_router_id ${i} \\\n"
                    " virtual_ipaddress { \\\n  ~SEQ(j, 1, 2) 192.0.2.${i}${j}/32 \\\n } \\\n}\n"
                    "~SEQ(i, 3) $INST\n")
    from pykeepalived.config.loader import load_config

    config, diags = load_config(str(path))
    assert not diags.errors, [str(d) for d in diags.errors]
    assert sorted(config.vrrp_instances) == ["VI_1", "VI_2", "VI_3"]
    assert [str(a.address) for a in config.vrrp_instances["VI_2"].virtual_ipaddress] == ["192.0.2.21/32", "192.0.2.22/32"]


def test_a_huge_loop_is_bounded() -> None:
    diags = Diagnostics()
    out = sum(1 for _, text in Preprocessor("main").lines("~SEQ(i, 1000000) x$i\n", "k.conf", diags) if text)
    assert out == 200_000 and "expand to more than" in diags.errors[0].message
