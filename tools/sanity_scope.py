"""Limit ansible-test's Ansible-only conventions to Ansible content.

Called by tools/ansible-test.sh on the temporary copy of the collection (never
on the repository). ansible-test's pep8 and pylint settings and its shebang
list encode Ansible plugin conventions: no "_" as a name, visual-indent
continuation lines, "#!/usr/bin/env python" as the only Python shebang. They
contradict ruff.toml, the project's linter for its plain Python, and Debian 12,
which has no "python" command. For the plain-Python directories this appends
skip entries to the copy's tests/sanity/ignore-X.Y.txt:

- `PATH pep8!skip` and `PATH pylint!skip` for every *.py file;
- `PATH shebang!skip` for every file whose first line is exactly
  "#!/usr/bin/env python3" (all other shebang checks still apply elsewhere).

A path the committed ignore file already names for a test is left to that
entry. Every other sanity test still covers these directories.

usage: sanity_scope.py COLLECTION_ROOT
"""

from __future__ import annotations

import os
import sys

from ansible.release import __version__

# Plain Python, linted by ruff; tests/integration/targets/ holds Ansible
# integration targets and stays fully checked.
PLAIN_PYTHON_DIRS = ('daemon', 'lab', 'bench', 'tests/integration')
KEEP_CHECKED = ('tests/integration/targets',)
PYTHON3_SHEBANG = b'#!/usr/bin/env python3'


def named_entries(text: str) -> set[tuple[str, str]]:
    """Return (path, test) pairs named by an ignore file's lines."""
    named = set()
    for line in text.splitlines():
        parts = line.split('#', 1)[0].split()
        if len(parts) == 2:
            named.add((parts[0], parts[1].split(':')[0].split('!')[0]))
    return named


def skip_entries(named: set[tuple[str, str]]) -> list[str]:
    """Return the skip entries for the plain-Python directories (paths relative to the cwd)."""
    entries = []
    for top in PLAIN_PYTHON_DIRS:
        for root, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if os.path.join(root, d) not in KEEP_CHECKED)
            for name in sorted(files):
                path = os.path.join(root, name)
                tests = ['pep8', 'pylint'] if name.endswith('.py') else []
                if not os.path.islink(path):
                    with open(path, 'rb') as handle:
                        if handle.readline().rstrip(b'\r\n') == PYTHON3_SHEBANG:
                            tests.append('shebang')
                entries.extend('%s %s!skip' % (path, test) for test in tests if (path, test) not in named)
    return entries


def main() -> None:
    """Append the skip entries to the collection copy's ignore file."""
    os.chdir(sys.argv[1])
    ignore = 'tests/sanity/ignore-%s.txt' % '.'.join(__version__.split('.')[:2])
    text = ''
    if os.path.exists(ignore):
        with open(ignore, encoding='utf-8') as handle:
            text = handle.read()
    entries = skip_entries(named_entries(text))
    if not entries:
        return
    if text and not text.endswith('\n'):
        text += '\n'
    os.makedirs(os.path.dirname(ignore), exist_ok=True)
    with open(ignore, 'w', encoding='utf-8') as handle:
        handle.write(text + ''.join(entry + '\n' for entry in entries))


if __name__ == '__main__':
    main()
