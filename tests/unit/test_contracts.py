"""The collection's stdlib copies agree with the daemon's originals.

Modules run on managed hosts and cannot import the daemon, so
plugins/module_utils/ carries copies of three of its rules: the control
socket client (core/client.py), the virtual-server name (VirtualServer.key,
config/model_lvs.py) and the quoting of keepalived.conf words
(config/render.py).  Each is checked here against the original: the same
constants, the same source for the framing and quoting functions, and the
same results on real servers, configs and values.
"""
from __future__ import annotations

import ast
import asyncio
import importlib.util
import inspect
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.config import render
from pykeepalived.config.errors import Diagnostics
from pykeepalived.config.lexer import tokenize_text
from pykeepalived.config.loader import load_config
from pykeepalived.core import client
from pykeepalived.core.control import ControlServer, RequestError

ROOT = Path(__file__).resolve().parents[2]


def _module_utils(name: str):
    spec = importlib.util.spec_from_file_location(f"mu_{name}", ROOT / f"plugins/module_utils/{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


mu_control = _module_utils("control")


def _body(func) -> str:
    """A function's code without its docstring and type hints (the copies are plain stdlib,
    the originals typed, and each docstring says where it comes from)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    node = tree.body[0]
    if ast.get_docstring(node) is not None:
        node.body = node.body[1:]
    node.returns = None
    for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
        arg.annotation = None
    return ast.unparse(node)


# -- the control socket ------------------------------------------------------------------
def test_control_constants_and_framing_are_the_same() -> None:
    assert (mu_control.VERSION, mu_control.SOCKET_NAME) == (client.VERSION, client.SOCKET_NAME)
    assert _body(mu_control.encode) == _body(client.encode)
    for req in ({"cmd": "status"}, {"cmd": "drain", "address": "192.0.2.1", "port": 80, "v": 7}):
        assert mu_control.encode(req) == client.encode(req)


@pytest.fixture
def server(tmp_path: Path):
    """The daemon's own ControlServer on a loop of its own (the clients block), our uid allowed."""
    seen: list[dict] = []

    async def handler(req: dict) -> object:
        seen.append(req)
        if req["cmd"] == "drain":
            raise RequestError(f"no real server {req.get('address')}")
        return {"answered": req["cmd"]}

    loop = asyncio.new_event_loop()
    srv = ControlServer(tmp_path, handler, allowed_uids=frozenset({os.getuid()}))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(srv.start(), loop).result(10)
    yield tmp_path, seen
    asyncio.run_coroutine_threadsafe(srv.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def test_both_clients_get_the_same_answers(server) -> None:
    runtime_dir, seen = server
    reply = client.request(runtime_dir, {"cmd": "status"})
    assert reply == {"v": client.VERSION, "ok": True, "cmd": "status", "result": {"answered": "status"}}
    assert mu_control.request(str(runtime_dir), "status") == client.result(reply)
    assert seen[0] == seen[1] == {"v": 1, "cmd": "status"}


def test_both_clients_report_the_same_refusal(server) -> None:
    runtime_dir = server[0]
    reply = client.request(runtime_dir, {"cmd": "drain", "address": "192.0.2.9"})
    assert reply == {"v": 1, "ok": False, "error": "no real server 192.0.2.9"}
    with pytest.raises(client.Refused, match="^no real server 192.0.2.9$"):
        client.result(reply)
    with pytest.raises(mu_control.ControlError, match="daemon refused drain: no real server 192.0.2.9$"):
        mu_control.request(str(runtime_dir), "drain", {"address": "192.0.2.9"})


def test_both_clients_fail_the_same_way_without_a_daemon(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        client.request(tmp_path, {"cmd": "status"})
    with pytest.raises(mu_control.ControlError, match="control.sock"):
        mu_control.request(str(tmp_path), "status")
    assert not mu_control.available(str(tmp_path))


# -- the virtual-server name -------------------------------------------------------------
VIRTUAL_SERVERS = """
virtual_server_group G1 {
    192.0.2.90 80
}
virtual_server 192.0.2.80 80 { protocol TCP
    real_server 192.0.2.10 80 { weight 1 }
}
virtual_server 2001:db8::80 443 { protocol UDP
    real_server 2001:db8::10 443 { weight 1 }
}
virtual_server fwmark 7 { protocol TCP
    real_server 192.0.2.11 80 { weight 1 }
}
virtual_server group G1 { protocol SCTP
    real_server 192.0.2.12 80 { weight 1 }
}
virtual_server 192.0.2.81 0 { protocol UDP
    persistence_timeout 60
    real_server 192.0.2.13 0 { weight 1 }
}
"""


def test_virtual_server_key_is_the_daemons(tmp_path: Path) -> None:
    path = tmp_path / "keepalived.conf"
    path.write_text(VIRTUAL_SERVERS)
    config, diags = load_config(str(path))
    assert not diags.errors, [str(d) for d in diags.sorted()]
    assert len(config.virtual_servers) == 5
    for vs in config.virtual_servers:
        ours = mu_control.virtual_server_key(vs.protocol, str(vs.ip) if vs.ip is not None else None, vs.port,
                                             vs.fwmark, vs.group)
        assert ours == vs.key


# -- the quoting of keepalived.conf words ------------------------------------------------
mu_syntax = _module_utils("syntax")


def test_quoting_rule_is_the_renderers() -> None:
    assert mu_syntax.SAFE == render.SAFE
    for name in ("quoted", "quote", "fmt"):
        assert _body(getattr(mu_syntax, name)) == _body(getattr(render, name)), name


def _read_back(text: str, tmp_path: Path) -> list[str]:
    """The words the daemon's lexer reads from one line ``router_id TEXT``."""
    diags = Diagnostics()
    tokens = tokenize_text(f"router_id {text}\n", str(tmp_path / "k.conf"), diags)
    assert not diags.errors, [str(d) for d in diags.sorted()]
    return [t.text for t in tokens]


# any printable text (the lexer refuses control characters in a word; word() refuses them first)
PRINTABLE = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20)


@settings(max_examples=300, deadline=None)
@given(text=PRINTABLE)
def test_a_word_reads_back_as_itself(text: str) -> None:
    tmp = Path("/nonexistent")  # only a name for the locations
    assert _read_back(mu_syntax.word(text), tmp) == ["router_id", text]
    assert _read_back(mu_syntax.quoted(text), tmp) == ["router_id", text]


@pytest.mark.parametrize("value", ["a\nb", "tab\there", "nul\x00"])
def test_a_control_character_is_refused(value: str) -> None:
    with pytest.raises(mu_syntax.SyntaxValueError, match="control character"):
        mu_syntax.word(value)


def test_the_role_template_writes_through_the_rule(tmp_path: Path) -> None:
    """The role's keepalived.conf.j2 in a real ansible-playbook run, with values that need quoting."""
    bindir = Path(sys.executable).parent
    if not (bindir / "ansible-playbook").exists():
        pytest.skip("needs the project venv (make venv)")
    coll = tmp_path / "ansible_collections" / "hapair"
    coll.mkdir(parents=True)
    (coll / "keepalived").symlink_to(ROOT)
    (tmp_path / "vars.json").write_text(json.dumps({
        "keepalived_ha_router_id": "lb one",
        "keepalived_ha_lb_backend": "auto",
        "keepalived_ha_global_defs": {"notification_email_from": 'ops"x@example.com', "enable_script_security": True,
                                      "vrrp_garp_master_delay": 5},
        "keepalived_ha_vrrp_scripts": [{"name": "chk", "script": '/bin/sh -c "exit 0"', "interval": 2,
                                        "weight": -10},
                                       {"name": "shipped", "content": "#!/bin/sh\n", "weight": 5, "weight_reverse": True,
                                        "init_fail": True, "user": "nobody nogroup", "fall": 2}],
        "keepalived_ha_script_dir": "/etc/my scripts",
        "keepalived_ha_track_files": [{"name": "maint", "file": "/run/maint file", "weight": -3, "init_file": True}],
        "keepalived_ha_virtual_server_groups": [
            {"name": "web", "members": [{"address": "192.0.2.10-20", "port": 80}, {"fwmark": 7, "family": "inet"}]}],
    }))
    (tmp_path / "play.yml").write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.template:\n"
        f"        src: {ROOT}/roles/keepalived_ha/templates/keepalived.conf.j2\n"
        "        dest: \"{{ playbook_dir }}/keepalived.conf\"\n"
        "        mode: '0644'\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path), ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([str(bindir / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", f"@{tmp_path / 'vars.json'}", str(tmp_path / "play.yml")],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = (tmp_path / "keepalived.conf").read_text()
    assert 'router_id "lb one"\n' in text
    assert '    script "/bin/sh -c \\"exit 0\\""\n' in text
    assert "    vrrp_garp_master_delay 5\n" in text
    assert ('vrrp_script shipped {\n    script "\\"/etc/my scripts/shipped\\""\n    fall 2\n    weight 5 reverse\n'
            "    init_fail\n    user nobody nogroup\n}\n") in text
    assert 'track_file maint {\n    file "/run/maint file"\n    weight -3\n    init_file\n}\n' in text
    assert "virtual_server_group web {\n    192.0.2.10-20 80\n    fwmark 7 inet\n}\n" in text
    (tmp_path / "conf.d").mkdir()
    config, _diags = load_config(str(tmp_path / "keepalived.conf"))
    assert config.global_defs.router_id == "lb one"
    assert config.global_defs.notification_email_from == 'ops"x@example.com'
    assert config.vrrp_scripts["chk"].script.argv == ("/bin/sh", "-c", "exit 0")
    assert config.vrrp_scripts["shipped"].script.argv == ("/etc/my scripts/shipped",)
    assert config.track_files["maint"].file == "/run/maint file"
    assert [e.fwmark for e in config.virtual_server_groups["web"].entries] == [None, 7]
