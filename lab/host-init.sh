#!/bin/sh
# PID 1 of a fresh PID namespace (also new mount/UTS/IPC/cgroup namespaces, in
# the host's netns): build the host's view of the kernel inside ROOT, pivot
# into it and exec systemd.  Usage: host-init.sh ROOT HOSTNAME [SHARED_PATH...]
# SHARED_PATHs (the checkout, the venv) are bound in at the same place when the
# host's own /tmp or /run would hide them, or when the host has a root of its
# own (lab/roots.py); written ro:PATH, the bind is read-only.
set -eu
R=$1
hostname "$2"
shift 2
mount -t proc proc "$R/proc"
# /proc/sys read-only except net (per-netns): else systemd would tune the real kernel.
mount --bind "$R/proc/sys" "$R/proc/sys"
mount --bind "$R/proc/sys/net" "$R/proc/sys/net"
mount -o remount,bind,ro "$R/proc/sys"
if [ -e "$R/proc/sysrq-trigger" ]; then
    mount --bind "$R/proc/sysrq-trigger" "$R/proc/sysrq-trigger"
    mount -o remount,bind,ro "$R/proc/sysrq-trigger"
fi
mount -t sysfs -o ro sysfs "$R/sys"
mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
# A minimal /dev, not the real one (gettys would start on real ttys).
mount -t tmpfs -o mode=755,size=1m dev "$R/dev"
mknod -m 666 "$R/dev/null" c 1 3
mknod -m 666 "$R/dev/zero" c 1 5
mknod -m 666 "$R/dev/full" c 1 7
mknod -m 666 "$R/dev/random" c 1 8
mknod -m 666 "$R/dev/urandom" c 1 9
mknod -m 666 "$R/dev/tty" c 5 0
mkdir "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777 shm "$R/dev/shm"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
mount -t tmpfs -o mode=755 run "$R/run"
mount -t tmpfs -o mode=1777 tmp "$R/tmp"
for p in "$@"; do
    src=${p#ro:}
    mkdir -p "$R$src"
    mount --bind "$src" "$R$src"
    if [ "$src" != "$p" ]; then
        mount -o remount,bind,ro "$R$src"
    fi
done
cd "$R"
pivot_root . .
umount -l .
cd /
# The capability bounding set was cut before this script (systemd_host.py, with
# the machine's setpriv: a Debian 11 root's does not know bpf or perfmon).
exec /lib/systemd/systemd
