"""Every module's EXAMPLES, run as shown in one ansible-playbook run against a temp root.

The task lists are taken verbatim from the modules' EXAMPLES, in the order a site would
run them (instances, services, real servers, then the runtime modules), on one config
dir. Where they live is set once for the whole collection with
``module_defaults: group/hapair.keepalived.all`` (meta/runtime.yml action_groups), so
this also proves the action group: the modules write into the temp root, not /etc.

The config modules must succeed and leave a config the daemon's checker accepts. The
runtime modules (keepalived_info, real_server_state) talk to a running daemon; here
there is none, so each of their tasks must fail with the one "not running" line and
nothing else (their arguments passed validation); their until/retries are dropped (one
try each) and so is keepalived_info's debug of the result. With a daemon, keepalived_info's
EXAMPLES run as shown in Molecule (extensions/molecule/shared/info_examples.yml).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import yaml
from module_runner import ANSIBLE_PLAYBOOK, PYKEEPALIVED, ROOT, Runner, snapshot

ORDER = ("vrrp_instance", "virtual_server", "real_server", "real_server_state", "keepalived_info")
RUNTIME_MODULES = {"hapair.keepalived.keepalived_info", "hapair.keepalived.real_server_state"}
RUNTIME_MODULES_NAMES = {name.rsplit(".", 1)[1] for name in RUNTIME_MODULES}
# What the examples take from the inventory or from vars a site defines.
MAIN_CONF = """global_defs {
    router_id test
}
vrrp_script chk_nginx {
    script "/bin/true"
}
include conf.d/*.conf
"""


def examples(module: str) -> list[dict]:
    tree = ast.parse((ROOT / "plugins" / "modules" / f"{module}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "EXAMPLES":
            return yaml.safe_load(node.value.value)
    raise AssertionError(f"{module} has no EXAMPLES")


def module_of(task: dict) -> str:
    return next(key for key in task if key.startswith(("hapair.", "ansible.")))


def test_every_example_runs_as_shown(runner: Runner):
    runner.config_dir.joinpath("keepalived.conf").write_text(MAIN_CONF)
    tasks = []
    for module in ORDER:
        for task in examples(module):
            if module_of(task) in RUNTIME_MODULES:
                # No daemon: one try each (no until/retries), failures expected and checked below.
                task = {k: v for k, v in task.items() if k not in ("until", "retries", "delay")}
                task["ignore_errors"] = True
            elif module in RUNTIME_MODULES_NAMES:
                continue  # e.g. a debug of keepalived_info's result: nothing to show without a daemon
            tasks.append(dict(task, register=task.get("register", f"r{len(tasks)}")))
    names = ", ".join(task["register"] for task in tasks)
    results_file = runner.tmp / "results.json"
    tasks.append({"name": "results", "ansible.builtin.copy": {
        "dest": str(results_file), "mode": "0644", "content": "{{ [" + names + "] | to_json }}"}})
    common = runner.common()
    play = {
        "hosts": "loadbalancers", "gather_facts": False,
        "vars": {"vrrp_secret": "s3cret"},
        "module_defaults": {
            "group/hapair.keepalived.all": {"runtime_dir": common["runtime_dir"]},
            **{f"hapair.keepalived.{m}": {"config_dir": common["config_dir"], "pykeepalived_bin": common["pykeepalived_bin"]}
               for m in ("vrrp_instance", "virtual_server", "real_server")},
        },
        "tasks": tasks,
    }
    (runner.tmp / "play.yml").write_text(json.dumps([play]))
    (runner.tmp / "hosts.yml").write_text(json.dumps({"loadbalancers": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_host": "192.0.2.21", "ansible_python_interpreter": sys.executable}}}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(runner.tmp / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="false", ANSIBLE_LOCALHOST_WARNING="false")
    proc = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "hosts.yml", "play.yml"], cwd=runner.tmp, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    results = json.loads(results_file.read_text())

    sock = runner.runtime_dir / "control.sock"
    not_running = (f"pykeepalived is not running: no control socket at {sock}",  # keepalived_info
                   f"no pykeepalived daemon running: {sock} does not exist")  # real_server_state
    for task, result in zip(tasks[:-1], results, strict=True):  # the last task writes the results
        if module_of(task) not in RUNTIME_MODULES:
            assert not result.get("failed"), (task["name"], result)
            continue
        # A looped task registers one result per item.
        for one in result.get("results", [result]):
            assert one["failed"] and one["msg"] in not_running, (task["name"], one)

    written = snapshot(runner.config_dir)
    assert "conf.d/vrrp_instance-VI_web.conf" in written
    assert "conf.d/virtual_server-192.0.2.53_53-udp.d/real_server-10.0.0.53_53.conf" in written
    check = subprocess.run([str(PYKEEPALIVED), "-t", "-f", str(runner.config_dir / "keepalived.conf")],
                           capture_output=True, text=True, check=False, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


def test_examples_name_every_task():
    for module in ORDER:
        for task in examples(module):
            assert task.get("name"), (module, task)
