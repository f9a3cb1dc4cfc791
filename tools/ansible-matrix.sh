#!/usr/bin/env bash
# ansible-test sanity and the module unit tests against every ansible-core the
# collection supports (meta/runtime.yml requires_ansible), one cached venv each.
#
#   tools/ansible-matrix.sh                  # all versions (make ansible-matrix)
#   ANSIBLE_MATRIX="2.16 2.19" tools/ansible-matrix.sh
#   tools/ansible-matrix.sh --build-only     # only make sure the venvs exist
#
# Venvs: REPO/.cache/ansible-matrix/core-X.Y, built with pip from the package
# index (ansible-core ==X.Y.*, pytest, the daemon editable for the module tests'
# config checker). A venv is rebuilt only when its requirement line changes
# (the .stamp file holds it), so a second run reuses them.
#
# Sanity: the newest version runs every test; older versions run the tests
# whose verdict depends on ansible-core (OLD_SANITY_TESTS; docs/development.md
# has the measurements behind that choice). ANSIBLE_MATRIX_FULL=1 runs every
# sanity test on every version.
# Prints a table version / sanity / units / seconds; exits 1 if any failed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
versions=${ANSIBLE_MATRIX:-2.16 2.17 2.18 2.19}
newest=$(tr ' ' '\n' <<<"$versions" | sort -V | tail -n 1)
python=${PYTHON:-python3}
cache=$repo/.cache/ansible-matrix
# The sanity tests that check against ansible-core's own rules for modules and
# plugins (argument specs, doc schema, module_utils imports, Python versions of
# the controller and targets). The rest (pep8, shellcheck, yamllint, changelog,
# ...) are the same tools at pinned versions; they run on the newest version.
OLD_SANITY_TESTS=${OLD_SANITY_TESTS:-validate-modules import compile ansible-doc pylint runtime-metadata action-plugin-docs}

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

mkdir -p "$cache"
rows=()
failed=0
for version in $versions; do
    venv=$cache/core-$version
    start=$SECONDS
    ensure_venv "$version" "$venv"
    built=$(( SECONDS - start ))
    (( build_only )) && { rows+=("$version build ${built}s"); continue; }

    sanity_args=(sanity)
    if [[ $version != "$newest" && ${ANSIBLE_MATRIX_FULL:-0} != 1 ]]; then
        for t in $OLD_SANITY_TESTS; do sanity_args+=(--test "$t"); done
    fi
    start=$SECONDS
    sanity=ok
    VENV_BIN=$venv/bin bash "$repo/tools/ansible-test.sh" "${sanity_args[@]}" \
        >"$cache/sanity-$version.log" 2>&1 || sanity=FAILED
    sanity_s=$(( SECONDS - start ))

    start=$SECONDS
    units=ok
    (cd "$repo" && ANSIBLE_HOME="$repo/.cache/ansible" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
        tests/unit/plugins/modules) >"$cache/units-$version.log" 2>&1 || units=FAILED
    units_s=$(( SECONDS - start ))
    [[ $sanity == ok && $units == ok ]] || failed=1
    rows+=("$version $sanity ${sanity_s}s $units ${units_s}s $(tail -n 1 "$cache/units-$version.log" | tr ' ' '_')")
    [[ $sanity == ok ]] || tail -n 40 "$cache/sanity-$version.log" >&2
    [[ $units == ok ]] || tail -n 40 "$cache/units-$version.log" >&2
done

echo
echo "ansible-core  sanity  seconds  units  seconds  pytest"
for row in "${rows[@]}"; do
    # shellcheck disable=SC2086  # one row, split into its columns
    printf '%-13s %-7s %-8s %-6s %-8s %s\n' $row
done
echo "logs: $cache/{sanity,units}-X.Y.log"
exit "$failed"
