#!/usr/bin/env bash
# The daemon's unit suite under every Python the hosts may run (3.9-3.13), with
# the interpreters pyenv has on this machine; `make pyversions-local` runs it.
#
#   tools/pyversions.sh              # every 3.9-3.13 found under $(pyenv root)/versions
#   PYVERSIONS="3.9 3.13" tools/pyversions.sh
#   tools/pyversions.sh -k vrrp      # further arguments go to pytest
#
# One venv per minor version under .cache/pyversions/ (made once: the test
# tools, then the daemon editable with its dependencies). A version pyenv does
# not have is listed as absent, not failed. Prints version / passed / failed and
# exits 1 if any present version has a failure. The proof on Debian's own
# python3 (11 and 13 roots) is the lab's; this is the quick local check.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pyenv_root="${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}"
read -r -a versions <<<"${PYVERSIONS:-3.9 3.10 3.11 3.12 3.13}"
cache="$root/.cache/pyversions"
mkdir -p "$cache"

results=()
status=0
for v in "${versions[@]}"; do
    # the newest patch release pyenv has of this minor version
    python=$(find "$pyenv_root"/versions -maxdepth 3 -path "*/versions/$v.*/bin/python" 2>/dev/null | sort -V | tail -n 1)
    if [[ -z $python ]]; then
        results+=("$v|absent|-|-")
        continue
    fi
    full=$("$python" -c 'import platform; print(platform.python_version())')
    venv="$cache/$v"
    if [[ ! -f $venv/.stamp-$full ]]; then
        rm -rf "$venv"
        echo "== Python $full: a venv in ${venv#"$root"/} (pip's output: ${venv#"$root"/}.pip.log)"
        if ! { "$python" -m venv "$venv" &&
            "$venv/bin/pip" install -q pytest hypothesis aiosmtpd dnspython &&
            "$venv/bin/pip" install -q -e "$root/daemon"; } >"$venv.pip.log" 2>&1; then
            results+=("$full|venv failed|-|-")
            status=1
            continue
        fi
        touch "$venv/.stamp-$full"
    fi
    log="$cache/$v.log"
    echo "== Python $full: pytest daemon/tests (log: ${log#"$root"/})"
    (cd "$root" && "$venv/bin/python" -m pytest -q -p no:cacheprovider daemon/tests "$@") >"$log" 2>&1
    rc=$?
    summary=$(tail -n 1 "$log")
    passed=$(grep -oE '[0-9]+ passed' <<<"$summary" | cut -d' ' -f1)
    failed=$(( $(grep -oE '[0-9]+ failed' <<<"$summary" | cut -d' ' -f1 || echo 0) + 0 ))
    errors=$(( $(grep -oE '[0-9]+ errors?' <<<"$summary" | cut -d' ' -f1 || echo 0) + 0 ))
    [[ $rc -eq 0 ]] || status=1
    results+=("$full|${passed:-0}|$((failed + errors))|$summary")
done

printf '\n%-10s %8s %8s  %s\n' version passed failed "pytest summary"
for r in "${results[@]}"; do
    IFS='|' read -r v p f s <<<"$r"
    printf '%-10s %8s %8s  %s\n' "$v" "$p" "$f" "$s"
done
exit $status
