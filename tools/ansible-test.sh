#!/usr/bin/env bash
# Run ansible-test against this repository without Docker and without access
# to ansible-test's own download host.
#
#   tools/ansible-test.sh                      # sanity, all tests (make lint)
#   tools/ansible-test.sh sanity --test pep8   # any ansible-test arguments
#   tools/ansible-test.sh units                # collection unit tests
#
# What it does, and why (docs/development.md has the long version):
# 1. ansible-test insists on running from .../ansible_collections/NS/NAME and
#    resolves symlinks, so the repository is copied (not linked) into a
#    temporary tree. Only files git would commit are copied (tracked plus
#    untracked-but-not-ignored), so .venv, caches, build output and
#    tests/output never reach the tests. Outside a git work tree it falls back
#    to a tar copy with an explicit exclude list.
# 2. ansible-test bootstraps pip into its virtual environments with a
#    get-pip script downloaded from a host CI cannot reach. A stand-in that
#    uses the interpreter's bundled ensurepip and then installs the pinned pip
#    from the package index is written to the cache path ansible-test reads
#    first (~/.ansible/test/cache/get_pip_X_Y.py, under the HOME of 4.). A real get-pip script
#    already in that place is left alone.
# 3. Unless told otherwise it passes --local for sanity (ansible-test runs on
#    the project's .venv; each sanity test still gets its own requirements
#    venv, cached under ~/.ansible/test/venv, so nothing is installed into
#    .venv), --venv for other commands, and --python X.Y (the version of the
#    project's .venv; without it ansible-test tries every Python it can find).
#    `sanity --venv` also works; it builds one more venv per run and is
#    slower (docs/development.md has the timings).
# 4. ansible-test keeps its venvs and caches under ~/.ansible/test (a fixed
#    path), so it runs with HOME=REPO/.cache/ansible-test-home: nothing is
#    written to the real ~/.ansible. The user's XDG config and cache dirs stay
#    as they were (pip's configuration and download cache).
# Results (tests/output) are copied back into the repository's tests/output.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export XDG_CONFIG_HOME=${XDG_CONFIG_HOME:-$HOME/.config} XDG_CACHE_HOME=${XDG_CACHE_HOME:-$HOME/.cache}
export HOME=$repo/.cache/ansible-test-home
mkdir -p "$HOME"
venv_bin=${VENV_BIN:-$repo/.venv/bin}
if [[ -x $venv_bin/ansible-test ]]; then
    ansible_test=$venv_bin/ansible-test
    python=$venv_bin/python
    # Tools from the venv (and a system-wide shellcheck) are found on PATH.
    export PATH="$venv_bin:$PATH"
else
    ansible_test=$(command -v ansible-test) || { echo "ansible-test not found (run 'make venv')" >&2; exit 2; }
    python=$(command -v python3)
fi

# ansible-test skips its shellcheck test with only a warning when the program
# is missing; CI installs it (.ci/apt-packages), so there it is an error.
if ! command -v shellcheck >/dev/null; then
    if [[ ${CI:-} == true ]]; then
        echo "shellcheck is missing (it is in .ci/apt-packages)" >&2; exit 2
    fi
    echo "tools/ansible-test.sh: shellcheck not installed; its sanity test will be skipped (apt-get install shellcheck)" >&2
fi

# --- get-pip stand-in ---------------------------------------------------------
pip_version=$("$python" - <<'EOF' 2>/dev/null || echo 24.2
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version='3'))['pip'])
EOF
)
cache_dir="$HOME/.ansible/test/cache"
get_pip="$cache_dir/get_pip_${pip_version//./_}.py"
marker='# hapair.keepalived get-pip stand-in'
if [[ ! -e $get_pip ]] || grep -qF "$marker" "$get_pip"; then
    mkdir -p "$cache_dir"
    cat >"$get_pip.tmp" <<EOF
$marker (written by tools/ansible-test.sh; delete to regenerate).
"""Install pip as get-pip.py does, without downloading get-pip.py.

ansible-test runs this inside a fresh venv created with --without-pip, as
\`get-pip.py [pip options] pip==$pip_version [--no-setuptools] [--no-wheel]\`.
The interpreter's bundled pip (ensurepip) is installed first, then the pinned
pip from the package index, as the real script would leave it.
"""
import subprocess
import sys

args = sys.argv[1:]
no_setuptools = '--no-setuptools' in args
no_wheel = '--no-wheel' in args
pip_args = [a for a in args if a not in ('--no-setuptools', '--no-wheel')]


def run(*cmd):
    proc = subprocess.run([sys.executable, *cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode:
        sys.stdout.write(proc.stdout)
        sys.exit(proc.returncode)


run('-m', 'ensurepip', '--default-pip')
run('-m', 'pip', 'install', '--upgrade', *pip_args)
# ensurepip of Python <= 3.11 also installs setuptools; get-pip.py would not.
if no_setuptools:
    run('-m', 'pip', 'uninstall', '--yes', '--quiet', 'setuptools')
if no_wheel:
    run('-m', 'pip', 'uninstall', '--yes', '--quiet', 'wheel')
EOF
    mv "$get_pip.tmp" "$get_pip"
fi

# --- copy into ansible_collections/hapair/keepalived -----------------------------
namespace=$(sed -n 's/^namespace: *//p' "$repo/galaxy.yml")
name=$(sed -n 's/^name: *//p' "$repo/galaxy.yml")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ansible-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest="$tmp/ansible_collections/$namespace/$name"
mkdir -p "$dest"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked files deleted in the work tree are listed too; skip them.
    git -C "$repo" ls-files -z --cached --others --exclude-standard \
        | (cd "$repo" && while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done) \
        | tar -C "$repo" --null --no-recursion -T - -cf - \
        | tar -C "$dest" -xf -
else
    tar -C "$repo" --exclude=./.git --exclude=./tests/output --exclude=./.ansible \
        --exclude=./.venv --exclude=./.cache --exclude=__pycache__ --exclude=.pytest_cache \
        --exclude=.hypothesis --exclude='*.egg-info' -cf - . | tar -C "$dest" -xf -
fi

# --- scope of Ansible-only conventions -----------------------------------------
# pep8, pylint and part of shebang encode Ansible plugin conventions that
# contradict ruff.toml and Debian; tools/sanity_scope.py adds skip entries for
# daemon/, lab/, bench/ and tests/integration/ (not targets/) to the copy's
# ignore file. SANITY_PYLINT_ALL=1 leaves them out (an audit of those dirs).
if [[ ${SANITY_PYLINT_ALL:-0} != 1 ]]; then
    "$python" "$repo/tools/sanity_scope.py" "$dest"
fi

# --- run ------------------------------------------------------------------------
[[ $# -gt 0 ]] || set -- sanity
args=("$@")
have() { local a; for a in "${args[@]}"; do for w in "$@"; do [[ $a == "$w" || $a == "$w="* ]] && return 0; done; done; return 1; }
# sanity: --local (every sanity test has its own cached venv anyway; fastest).
# Anything else (units, ...): --venv, because --local would need --requirements
# and that installs ansible-test's pinned test packages into the project venv.
if ! have --venv --local --docker --remote --controller --target --target-python; then
    if [[ ${args[0]} == sanity ]]; then args+=(--local); else args+=(--venv); fi
fi
have --python --controller --target-python \
    || args+=(--python "$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')")

rc=0
(cd "$dest" && "$ansible_test" "${args[@]}") || rc=$?
if [[ -d $dest/tests/output ]]; then
    mkdir -p "$repo/tests/output"
    cp -a "$dest/tests/output/." "$repo/tests/output/"
fi
exit "$rc"
