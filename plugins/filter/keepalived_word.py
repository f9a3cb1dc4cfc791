# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keepalived_word filter: a value as keepalived.conf words, by the collection's one rule."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.hapair.keepalived.plugins.module_utils.syntax import SyntaxValueError, quoted, word

DOCUMENTATION = r"""
name: keepalived_word
short_description: A value as keepalived.conf words
version_added: 0.1.0
description:
  - Writes a value the way the modules and the daemon write it (the daemon's C(config/render.py) rule,
    shared through C(module_utils/syntax.py)) - bare when keepalived reads it back unchanged, else
    double-quoted with backslash escapes; V(true)/V(false) as C(on)/C(off).
  - A list gives one word per element, joined by a blank.
  - A value with a control character (newline, tab) fails; no keepalived word can carry one.
options:
  _input:
    description: A string, number or boolean, or a list of them.
    type: raw
    required: true
  always_quote:
    description: Double-quote even a word that could stay bare (a script's command line).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Write one keyword
  ansible.builtin.debug:
    msg: "router_id {{ 'lb 1' | hapair.keepalived.keepalived_word }}"  # router_id "lb 1"
"""

RETURN = r"""
_value:
  description: The words, ready to follow a keyword.
  type: str
"""


def keepalived_word_filter(value, always_quote=False):
    """Jinja entry point."""
    values = list(value) if isinstance(value, list | tuple) else [value]
    try:
        words = [word(v) for v in values]
    except SyntaxValueError as err:
        raise AnsibleFilterError(f"keepalived_word: {err}") from err
    if always_quote:
        words = [quoted(str(v)) for v in values]
    return " ".join(words)


class FilterModule:
    """hapair.keepalived.keepalived_word."""

    def filters(self):
        return {"keepalived_word": keepalived_word_filter}
