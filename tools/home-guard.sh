#!/usr/bin/env bash
# Run a command with HOME pointed at an empty directory under the checkout's
# .cache/, and fail if the command wrote anything there or into the real
# ~/.ansible. `make test` runs its Ansible parts (lint with ansible-test
# sanity, ansible-matrix, molecule) through it: they must keep Ansible's files
# under the checkout (ANSIBLE_HOME, tools/ansible-test.sh's own HOME).
#
#   tools/home-guard.sh COMMAND [ARGS...]
#
# - HOME=REPO/.cache/home-guard/HOME.XXXXXX, new and empty for each command
#   (so parallel make jobs do not share one), removed after the check. The user's XDG config and
#   cache dirs stay the real ones (pip's configuration and download cache are
#   the user's to keep), and so do rustup's and cargo's homes (pip's isolated builds run the
#   rustup proxy, which writes ~/.rustup/settings.toml into a HOME that lacks it), so only
#   writes that go through $HOME are caught there.
# - The real ~/.ansible is checked for files changed during the run: in CI
#   (CI=true, a machine of its own) that fails the run; on a shared
#   development machine other people's runs write there too, so it only warns.
# The exit status is the command's, or 3 when it passed but wrote into HOME.
set -euo pipefail

[[ $# -gt 0 ]] || { echo "usage: tools/home-guard.sh COMMAND [ARGS...]" >&2; exit 2; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
real_home=$HOME
guard=$repo/.cache/home-guard
mkdir -p "$guard"
fake_home=$(mktemp -d "$guard/HOME.XXXXXX")
stamp=$fake_home.stamp
trap 'rm -rf "$fake_home" "$stamp"' EXIT
touch "$stamp"

rc=0
HOME=$fake_home XDG_CONFIG_HOME=${XDG_CONFIG_HOME:-$real_home/.config} XDG_CACHE_HOME=${XDG_CACHE_HOME:-$real_home/.cache} \
    RUSTUP_HOME=${RUSTUP_HOME:-$real_home/.rustup} CARGO_HOME=${CARGO_HOME:-$real_home/.cargo} \
    "$@" || rc=$?

written=$(find "$fake_home" -mindepth 1 -printf '  ~/%P\n' | sort)
if [[ -n $written ]]; then
    echo "home-guard: '$*' wrote into HOME (it must write under the checkout):" >&2
    head -n 20 <<<"$written" >&2
    [[ $rc -ne 0 ]] || rc=3
fi
if [[ -d $real_home/.ansible ]]; then
    changed=$(find "$real_home/.ansible" -newer "$stamp" -print 2>/dev/null | head -n 20)
    if [[ -n $changed ]]; then
        if [[ ${CI:-} == true ]]; then
            echo "home-guard: files changed in $real_home/.ansible during '$*':" >&2
            echo "$changed" >&2
            [[ $rc -ne 0 ]] || rc=3
        else
            echo "home-guard: warning: $real_home/.ansible changed during the run (another process on this machine?):" >&2
            echo "$changed" | head -n 5 >&2
        fi
    fi
fi
exit "$rc"
