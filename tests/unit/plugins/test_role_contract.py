"""The role keepalived_ha is strict and complete (issue 14 section 5):

* every key the role accepts (meta/argument_specs.yml) is passed on to its module in
  tasks/config.yml, and every module option a user sets is a key the role accepts;
* a misspelled key fails the real role, naming the key, before any task runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "keepalived_ha"
SPEC = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
MAIN = SPEC["main"]["options"]
CONFIG = (ROLE / "tasks" / "config.yml").read_text()
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def module_options(name):
    """The argument spec of module_utils/NAME.py, imported as the collection (a link under .cache/)."""
    base = ROOT / ".cache" / "unit-collections"
    link = base / "ansible_collections" / "hapair" / "keepalived"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT)
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    module = importlib.import_module(f"ansible_collections.hapair.keepalived.plugins.module_utils.{name}")
    return module.argument_spec()


COMMON = {"config_dir", "runtime_dir", "pykeepalived_bin", "reload"}


def task_keys(section, prefix):
    """Keys read as PREFIX.KEY in the item list SECTION of tasks/config.yml (the vars of the
    config_fragments task, each after a ``# SECTION`` comment)."""
    text = CONFIG[CONFIG.index(f"    # {section}"):]
    ends = [i for i in (text.find("\n    # ", 1), text.find("\n- name:", 1)) if i > 0]
    text = text[:min(ends)] if ends else text
    return set(re.findall(r"\b" + re.escape(prefix) + r"\.([a-z_]+)(?: \| default| }})", text))


def test_instance_options_are_the_modules_and_all_passed_on():
    spec = set(MAIN["keepalived_ha_instance_options"]["options"])
    assert spec == set(MAIN["keepalived_ha_pairs"]["options"]["options"]["options"])
    computed = {"name", "state", "interface", "vrid", "priority", "initial_state", "vips", "unicast_src_ip",
                "unicast_peers", "sync_group_options"}  # from ha_pairs and keepalived_ha_sync_groups
    assert spec == set(module_options("vrrp_instance")) - COMMON - computed
    assert task_keys("VRRP instances", "keepalived_ha__opts") == spec
    sync = set(MAIN["keepalived_ha_sync_groups"]["options"]) - {"name"}
    assert sync == set(module_options("vrrp_instance")["sync_group_options"]["options"])


def test_pair_keys_are_the_filters():
    topology = _load("topology", ROOT / "plugins/plugin_utils/topology.py")
    assert set(MAIN["keepalived_ha_pairs"]["options"]) == set(topology.PAIR_KEYS)


def test_virtual_and_real_server_keys_are_the_modules_and_all_passed_on():
    vs_spec = MAIN["keepalived_ha_virtual_servers"]["options"]
    not_offered = {"ha_suspend"}  # the daemon refuses it (config/validate.py NOT_YET)
    assert set(vs_spec) - {"real_servers"} == set(module_options("virtual_server")) - COMMON - not_offered
    assert task_keys("Virtual servers", "item") == set(vs_spec) - {"real_servers"}
    rs_spec = vs_spec["real_servers"]["options"]
    assert set(rs_spec) == set(module_options("real_server")) - COMMON - {"virtual_server", "wait", "drain_timeout"}
    assert task_keys("Real servers", "item.1") == set(rs_spec)
    checker = module_options("real_server")["checker"]["options"]
    assert rs_spec["checker"]["options"] == rs_spec["checkers"]["options"]
    assert set(rs_spec["checker"]["options"]) == set(checker)
    assert set(rs_spec["checker"]["options"]["urls"]["options"]) == set(checker["urls"]["options"])


def run_role(tmp_path: Path, role_vars: dict) -> subprocess.CompletedProcess:
    """The real role on localhost with a daemon source that does not exist: its argument
    check is the first task, the digest of the (missing) sources the second, which fails
    on the controller before anything touches the machine."""
    coll = tmp_path / "collections" / "ansible_collections" / "hapair"
    coll.mkdir(parents=True)
    (coll / "keepalived").symlink_to(ROOT)
    play = [{"hosts": "localhost", "gather_facts": False,
             "roles": [{"role": "hapair.keepalived.keepalived_ha",
                        "vars": dict(role_vars, keepalived_ha_daemon_src=str(tmp_path / "no-daemon"))}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false")
    return subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml")],
                          capture_output=True, text=True, env=env, timeout=180, cwd=tmp_path, check=False)


GOOD_VS = {"address": "192.0.2.100", "port": 80, "lb_kind": "NAT", "persistence_granularity": "255.255.255.0",
           "real_servers": [{"address": "192.0.2.21", "port": 80, "uthreshold": 10,
                             "checkers": [{"type": "TCP_CHECK"}, {"type": "HTTP_GET", "urls": [{"path": "/"}]}]}]}


@pytest.mark.parametrize(("role_vars", "named"), [
    ({"keepalived_ha_virtual_servers": [dict(GOOD_VS, persistence_granularty="255.255.255.0")]},
     "keepalived_ha_virtual_servers.persistence_granularty"),
    ({"keepalived_ha_virtual_servers": [dict(GOOD_VS, real_servers=[{"address": "192.0.2.21",
                                                                     "checker": {"type": "TCP_CHECK", "conect_timeout": 3}}])]},
     "keepalived_ha_virtual_servers.real_servers.checker.conect_timeout"),
    ({"keepalived_ha_instance_options": {"garp_master_repet": 2}}, "keepalived_ha_instance_options.garp_master_repet"),
    ({"keepalived_ha_pairs": [{"name": "web", "group": "lb", "vips": ["192.0.2.50/24"], "options": {"notfy": "x"}}]},
     "keepalived_ha_pairs.options.notfy"),
    ({"keepalived_ha_vrrp_scripts": [{"name": "chk", "script": "/bin/true", "intervall": 2}]},
     "keepalived_ha_vrrp_scripts.intervall"),
])
def test_a_misspelled_key_fails_the_role_naming_it(tmp_path, role_vars, named):
    proc = run_role(tmp_path, role_vars)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Validation of arguments failed" in out and named in out, out[-3000:]


def test_a_correct_run_passes_the_argument_check(tmp_path):
    """The control: the same role with correct keys gets past the check (and stops at the
    missing daemon sources, the next task)."""
    proc = run_role(tmp_path, {"keepalived_ha_virtual_servers": [GOOD_VS],
                               "keepalived_ha_instance_options": {"garp_master_repeat": 2, "accept": True}})
    out = proc.stdout + proc.stderr
    assert "Validation of arguments failed" not in out, out[-3000:]
    assert "has no pyproject.toml (not the daemon's source tree)" in out, out[-3000:]


def test_source_digest_equals_the_sha256sum_pipeline(tmp_path):
    digest = _load("source_digest", ROOT / "plugins/filter/source_digest.py").source_digest
    if not Path("/usr/bin/sha256sum").exists():
        pytest.skip("needs GNU sha256sum to compare with")
    tree = tmp_path / "d"
    (tree / "src" / "pkg" / "__pycache__").mkdir(parents=True)
    (tree / "src" / "x.egg-info").mkdir()
    (tree / "pyproject.toml").write_text("[project]\n")
    (tree / "src" / "pkg" / "a b.py").write_text("a\n")
    (tree / "src" / "pkg" / "Z.py").write_text("z\n")
    (tree / "src" / "pkg" / "__pycache__" / "a.pyc").write_bytes(b"\0")
    (tree / "src" / "x.egg-info" / "PKG-INFO").write_text("x\n")
    shell = subprocess.run(
        "set -o pipefail; find pyproject.toml src -type f ! -name '*.pyc' ! -path '*/__pycache__/*' "
        "! -path '*.egg-info/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16",
        shell=True, executable="/bin/bash", cwd=tree, capture_output=True, text=True, check=True).stdout.strip()
    assert digest(str(tree)) == shell
    (tree / "src" / "pkg" / "Z.py").write_text("changed\n")
    assert digest(str(tree)) != shell
