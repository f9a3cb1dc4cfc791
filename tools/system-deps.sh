#!/usr/bin/env bash
# The Debian packages the code needs (.ci/apt-packages), before anything else:
# `make venv` (and so `make demo`, `make test`) runs this first.
#
#   tools/system-deps.sh          # install what is missing (root + apt-get), else say what to run
#   tools/system-deps.sh --check  # only say what is missing (exit 1 if anything is)
#
# Installed packages are found with one dpkg-query (well under a second), so a
# second run does nothing. Missing ones are installed when running as root with
# apt-get (`apt-get update` only when the package lists are absent or an
# install fails for a stale list; noninteractive, --no-install-recommends).
# Otherwise it stops with one line naming the missing packages and the command
# that installs them.
set -euo pipefail

list="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.ci/apt-packages"
mapfile -t wanted < <(sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$list" | grep -v '^$')

missing() {
    local pkg status
    for pkg in "${wanted[@]}"; do
        status=$(dpkg-query -W -f '${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
        [[ $status == ii* ]] || printf '%s\n' "$pkg"
    done
}

if ! command -v dpkg-query >/dev/null; then
    echo "tools/system-deps.sh: not a Debian system (no dpkg-query); install the equivalents of .ci/apt-packages: ${wanted[*]}" >&2
    exit 1
fi
mapfile -t todo < <(missing)
[[ ${#todo[@]} -eq 0 ]] && exit 0

install_cmd="apt-get install -y --no-install-recommends ${todo[*]}"
if [[ ${1:-} == --check || $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "missing Debian packages: ${todo[*]}; install them as root: $install_cmd" >&2
    exit 1
fi

echo "tools/system-deps.sh: installing ${todo[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt() { apt-get install -y -qq --no-install-recommends "${todo[@]}" >/dev/null; }
# A fresh image has no package lists; an old one may name versions the mirror dropped.
if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null || ! apt; then
    apt-get update -qq
    apt
fi
mapfile -t todo < <(missing)
if [[ ${#todo[@]} -ne 0 ]]; then
    echo "tools/system-deps.sh: still missing after apt-get: ${todo[*]}" >&2
    exit 1
fi
