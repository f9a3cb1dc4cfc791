"""The modules' enumerations are the daemon's, and each module documents the choices it checks.

plugins/module_utils/choices.py holds the lists; the daemon's config parser is asked
what it accepts (its "must be one of A|B|C" error for a value it does not know), so a
new scheduler or checker in the daemon fails here until the modules know it too.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
loader = pytest.importorskip("pykeepalived.config.loader", reason="needs the daemon (make venv)")
checkers = pytest.importorskip("pykeepalived.config.keywords.checkers")

VS = "virtual_server 192.0.2.1 80 {{\n    {}\n}}\n"
RS_CHECK = "virtual_server 192.0.2.1 80 {{\n    real_server 10.0.0.1 80 {{\n        {} {{\n            {}\n        }}\n    }}\n}}\n"
VRRP = "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 1\n    {}\n}}\n"

# choices.py name -> config text with @V@ for the value.
ENUMS = {
    "PROTOCOLS": VS.format("protocol @V@"),
    "SCHEDULERS": VS.format("lb_algo @V@"),
    "FORWARDING_METHODS": VS.format("lb_kind @V@"),
    "IP_FAMILIES": "virtual_server fwmark 1 {\n    ip_family @V@\n}\n",
    "HTTP_PROTOCOLS": RS_CHECK.format("HTTP_GET", "url {\n                path /\n            }\n            http_protocol @V@"),
    "DNS_TYPES": RS_CHECK.format("DNS_CHECK", "type @V@"),
    "VRRP_STATES": VRRP.format("state @V@"),
}


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    base = tmp_path_factory.mktemp("coll")
    (base / "ansible_collections" / "hapair").mkdir(parents=True)
    (base / "ansible_collections" / "hapair" / "keepalived").symlink_to(ROOT)
    sys.path.insert(0, str(base))
    try:
        yield lambda name: importlib.import_module(f"ansible_collections.hapair.keepalived.plugins.{name}")
    finally:
        sys.path.remove(str(base))


def errors(text: str) -> list[str]:
    _config, diags = loader.loads_config(text)
    return [item.message for item in diags.items if item.severity == "error"]


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_enumeration_is_what_the_daemon_accepts(collection, name):
    allowed = getattr(collection("module_utils.choices"), name)
    template = ENUMS[name]
    for value in allowed:
        assert errors(template.replace("@V@", str(value))) == [], (name, value)
    rejected = errors(template.replace("@V@", "no-such-value"))
    assert len(rejected) == 1 and (found := re.search(r"must be one of (\S+), got", rejected[0])), rejected
    assert found.group(1).split("|") == list(allowed)


def test_checker_types_and_vrrp_versions(collection):
    choices = collection("module_utils.choices")
    assert sorted(choices.CHECKER_TYPES) == sorted(checkers.SPECS)
    for version in choices.VRRP_VERSIONS:
        assert errors(VRRP.format(f"version {version}")) == []
    for version in (min(choices.VRRP_VERSIONS) - 1, max(choices.VRRP_VERSIONS) + 1):
        assert errors(VRRP.format(f"version {version}")), version


def documented_options(module: str) -> dict:
    tree = ast.parse((ROOT / "plugins" / "modules" / f"{module}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
            return yaml.safe_load(node.value.value)["options"]
    raise AssertionError(module)


def choice_paths(options: dict, key: str, prefix: str = "") -> dict:
    """{"a.b": [choices]} for every (sub)option with choices; ``key`` names the nested options."""
    found = {}
    for name, spec in options.items():
        if spec.get("choices") is not None:
            found[prefix + name] = [str(c) for c in spec["choices"]]
        if spec.get(key):
            found.update(choice_paths(spec[key], key, f"{prefix}{name}."))
    return found


@pytest.mark.parametrize("module", ["keepalived_info", "real_server", "real_server_state", "virtual_server",
                                    "vrrp_instance"])
def test_documentation_lists_the_checked_choices(collection, module):
    spec = collection(f"module_utils.{module}").MODULE_KWARGS["argument_spec"]
    assert choice_paths(documented_options(module), "suboptions") == choice_paths(spec, "options")


def test_the_roles_enumerations_are_the_modules(collection):
    """meta/argument_specs.yml of keepalived_ha checks the same values the modules do (a role run fails
    at its argument check, naming the variable, instead of inside a module task)."""
    choices = collection("module_utils.choices")
    spec = yaml.safe_load((ROOT / "roles" / "keepalived_ha" / "meta" / "argument_specs.yml").read_text())
    servers = spec["argument_specs"]["main"]["options"]["keepalived_ha_virtual_servers"]["options"]
    real = servers["real_servers"]["options"]
    assert servers["protocol"]["choices"] == choices.PROTOCOLS
    assert servers["lb_algo"]["choices"] == choices.SCHEDULERS
    assert servers["lb_kind"]["choices"] == real["lb_kind"]["choices"] == choices.FORWARDING_METHODS
    assert servers["ip_family"]["choices"] == choices.IP_FAMILIES
    assert sorted(real["checker"]["options"]["type"]["choices"]) == sorted(choices.CHECKER_TYPES)
