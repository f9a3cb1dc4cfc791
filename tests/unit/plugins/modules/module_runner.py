"""Drive the modules for real: one ansible-playbook run (connection local) per call,
every task registered, the registered results written to a JSON file and returned.

The collection is found through ANSIBLE_COLLECTIONS_PATH = a temp dir holding
ansible_collections/hapair/keepalived -> the repository (symlink), as in
tests/unit/plugins/test_ha_pairs.py. Config dirs are temp dirs; the checker is the
venv's pykeepalived (next to sys.executable).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
BIN = Path(sys.executable).parent
PYKEEPALIVED = BIN / "pykeepalived"
ANSIBLE_PLAYBOOK = BIN / "ansible-playbook"

MAIN_CONF = "global_defs {\n    router_id test\n}\ninclude conf.d/*.conf\n"


class Runner:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        coll = tmp_path / "collections" / "ansible_collections" / "hapair"
        coll.mkdir(parents=True)
        (coll / "keepalived").symlink_to(ROOT)
        self.config_dir = tmp_path / "etc"
        (self.config_dir / "conf.d").mkdir(parents=True)
        (self.config_dir / "keepalived.conf").write_text(MAIN_CONF)
        self.runtime_dir = tmp_path / "run"
        self.runtime_dir.mkdir()
        self.runs = 0

    def common(self) -> dict:
        return {"config_dir": str(self.config_dir), "runtime_dir": str(self.runtime_dir),
                "pykeepalived_bin": str(PYKEEPALIVED)}

    def play(self, *steps: dict, env: dict | None = None) -> list[dict]:
        """Each step: {"module": NAME, "args": {...}, "check": bool, "diff": bool, "bare": bool}; common
        args (config_dir, runtime_dir, pykeepalived_bin) are added unless given or ``bare``."""
        self.runs += 1
        out = self.tmp / f"results{self.runs}.json"
        tasks = []
        for i, step in enumerate(steps):
            args = dict(step["args"]) if step.get("bare") else dict(self.common(), **step["args"])
            tasks.append({"name": f"step {i}", f"hapair.keepalived.{step['module']}": args, "register": f"r{i}",
                          "ignore_errors": True, "check_mode": step.get("check", False), "diff": step.get("diff", False)})
        names = ", ".join(f"r{i}" for i in range(len(steps)))
        copy = {"dest": str(out), "mode": "0644", "content": "{{ [" + names + "] | to_json }}"}
        tasks.append({"name": "results", "ansible.builtin.copy": copy})
        playbook = self.tmp / f"play{self.runs}.yml"
        playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
        run_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(self.tmp / "collections"),
                       ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false",
                       ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="false")
        run_env.update(env or {})
        proc = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(playbook)],
                              capture_output=True, text=True, env=run_env, timeout=120, cwd=self.tmp, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        self.last_output = proc.stdout
        return json.loads(out.read_text())

    def fragment(self, name: str) -> Path:
        return self.config_dir / "conf.d" / name

    def check_config(self) -> subprocess.CompletedProcess:
        return subprocess.run([str(PYKEEPALIVED), "-t", "-f", str(self.config_dir / "keepalived.conf")],
                              capture_output=True, text=True, check=False, timeout=30)


def snapshot(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` with its text (to prove nothing changed)."""
    return {str(p.relative_to(directory)): p.read_text() for p in sorted(directory.rglob("*")) if p.is_file()}
