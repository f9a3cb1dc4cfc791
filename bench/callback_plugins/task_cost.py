# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""task_cost: wall time of each task (start to the next task's start), summed by
task name over the play, written as JSON to $TASK_COST_FILE at the end.
bench/ansible.py enables it (ansible.posix's profile_tasks is not installed here)."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: task_cost
type: aggregate
short_description: per-task wall time, summed by name, as JSON
description: Writes a JSON object (task name to seconds) to the file named by the TASK_COST_FILE environment variable.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_cost"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.costs = {}
        self.current = None
        self.started = 0.0

    def _close(self):
        if self.current is not None:
            self.costs[self.current] = self.costs.get(self.current, 0.0) + time.monotonic() - self.started
            self.current = None

    def _open(self, task, prefix=""):
        self._close()
        self.current = prefix + task.get_name()
        self.started = time.monotonic()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._open(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._open(task, "handler: ")

    def v2_playbook_on_stats(self, stats):
        self._close()
        path = os.environ.get("TASK_COST_FILE")
        if path:
            with open(path, "w") as fh:
                json.dump(self.costs, fh, indent=1)
