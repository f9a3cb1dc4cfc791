#!/usr/bin/env bash
# ansible-test sanity and the module unit tests against the ansible-core
# versions the collection supports (meta/runtime.yml requires_ansible), one
# cached venv each.
#
#   tools/ansible-matrix.sh                   # 2.16 2.17 2.18 2.19 (make ansible-matrix)
#   ANSIBLE_MATRIX="2.16 2.18" tools/ansible-matrix.sh
#   ANSIBLE_MATRIX_FULL=1 tools/ansible-matrix.sh   # every sanity test on every version
#   tools/ansible-matrix.sh --build-only      # only make sure the venvs exist
#
# Venvs: REPO/.cache/ansible-matrix/core-X.Y, built with pip from the package
# index (ansible-core X.Y.*, pytest, pyyaml, the daemon editable as the module
# tests' config checker). A venv is rebuilt only when its requirement line
# changes (its .stamp holds it), so a second run reuses it. ansible-test's own
# requirement venvs are cached by tools/ansible-test.sh under .cache/ too.
#
# Sanity: versions in FULL_VERSIONS (the newest) run every test; the others
# skip SKIP_ON_OLDER, the tests whose tools do not come from ansible-core
# (pycodestyle, yamllint, shellcheck, PSScriptAnalyzer, antsibull-changelog
# at ansible-test's pins): their verdict on this code does not depend on the
# ansible-core a user runs. Everything that checks against ansible-core itself
# (validate-modules, ansible-doc, import, compile, pylint with Ansible's
# plugins, runtime-metadata, action-plugin-docs, the code smells) runs on
# every version. docs/development.md has the timings behind this choice.
#
# Prints a table version / sanity / units with wall-clock and CPU seconds;
# exits 1 if any step failed. Logs: .cache/ansible-matrix/{sanity,units}-X.Y.log.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
versions=${ANSIBLE_MATRIX:-2.16 2.17 2.18 2.19}
FULL_VERSIONS=${FULL_VERSIONS:-2.19}
SKIP_ON_OLDER=${SKIP_ON_OLDER:-pep8 yamllint shellcheck pslint changelog}
python=${PYTHON:-python3}
cache=$repo/.cache/ansible-matrix

build_only=0
[[ ${1:-} == --build-only ]] && build_only=1

ensure_venv() {
    local version=$1 venv=$2
    local next=$(( ${version#*.} + 1 ))
    local req="ansible-core>=$version,<${version%%.*}.$next pytest pyyaml"
    if [[ -f $venv/.stamp && $(cat "$venv/.stamp") == "$req" ]]; then
        return 0
    fi
    echo "ansible-matrix: building $venv ($req)" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # shellcheck disable=SC2086  # $req is a list of requirement words
    "$venv/bin/pip" install -q $req -e "$repo/daemon"
    echo "$req" >"$venv/.stamp"
}

# timed LOG CMD...: run CMD with its output in LOG; prints "ok|FAILED WALL CPU".
# CPU: user + sys of the finished children, from the `times` builtin run in
# this shell before and after (its second line; a command substitution would
# count its own subshell's children instead).
timed() {
    local log=$1; shift
    local status=ok start=$EPOCHREALTIME
    times >"$log.t0"
    "$@" >"$log" 2>&1 || status=FAILED
    times >"$log.t1"
    awk -v status="$status" -v start="$start" -v end="$EPOCHREALTIME" '
        FNR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); cpu[FILENAME] = u[1] * 60 + u[2] + s[1] * 60 + s[2] }
        END { printf "%s %.0fs %.0fs\n", status, end - start, cpu[ARGV[2]] - cpu[ARGV[1]] }' "$log.t0" "$log.t1"
    rm -f "$log.t0" "$log.t1"
}

mkdir -p "$cache"
rows=()
failed=0
for version in $versions; do
    venv=$cache/core-$version
    start=$SECONDS
    ensure_venv "$version" "$venv"
    (( build_only )) && { rows+=("$version built-in $(( SECONDS - start ))s"); continue; }

    sanity_args=(sanity)
    scope=full
    if [[ " $FULL_VERSIONS " != *" $version "* && ${ANSIBLE_MATRIX_FULL:-0} != 1 ]]; then
        scope=partial
        for t in $SKIP_ON_OLDER; do sanity_args+=(--skip-test "$t"); done
    fi
    # Sanity and the module tests run side by side: each is one busy process,
    # so on two cores the pair takes the time of the longer one.
    VENV_BIN=$venv/bin timed "$cache/sanity-$version.log" bash "$repo/tools/ansible-test.sh" \
        "${sanity_args[@]}" >"$cache/sanity-$version.result" &
    sanity_pid=$!
    units=$(cd "$repo" && ANSIBLE_HOME="$repo/.cache/ansible" timed "$cache/units-$version.log" \
        "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit/plugins/modules)
    wait "$sanity_pid" || true
    sanity=$(cat "$cache/sanity-$version.result")
    rm -f "$cache/sanity-$version.result"
    [[ $sanity == ok* && $units == ok* ]] || failed=1
    rows+=("$version $scope $sanity $units")
    [[ $sanity == ok* ]] || grep -E '^(ERROR|FATAL)' "$cache/sanity-$version.log" | head -n 40 >&2 || true
    [[ $units == ok* ]] || tail -n 30 "$cache/units-$version.log" >&2
done

echo
if (( build_only )); then
    printf '%s\n' "${rows[@]}"
    exit 0
fi
echo "ansible-core  sanity             result  wall   cpu    units  wall   cpu"
for row in "${rows[@]}"; do
    # shellcheck disable=SC2086  # one row, split into its columns
    printf '%-13s %-18s %-7s %-6s %-6s %-6s %-6s %s\n' $row
done
echo "logs: $cache/{sanity,units}-X.Y.log"
exit "$failed"
