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
# A mount made here, so it can be moved (below) even where the overlay cannot.
mount --bind "$R" "$R"
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
# In a user namespace of its own (lab/userns.py) mknod is refused and a tmpfs made
# there is nodev: the machine's nodes are bound in instead.
dev_node() {
    mknod -m 666 "$R/dev/$1" c "$2" "$3" 2>/dev/null && return
    : > "$R/dev/$1"
    mount --bind "/dev/$1" "$R/dev/$1"
}
dev_node null 1 3
dev_node zero 1 5
dev_node full 1 7
dev_node random 1 8
dev_node urandom 1 9
dev_node tty 5 0
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
# The capability bounding set was cut before this script (systemd_host.py, with
# the machine's setpriv: a Debian 11 root's does not know bpf or perfmon).
if pivot_root . . 2>/dev/null; then
    umount -l .
    cd /
    exec /lib/systemd/systemd
fi
# In a user namespace of its own (lab/userns.py) the machine's / is a locked mount
# pivot_root refuses: move the host's root over it and chroot, as switch_root does.
mount --move . /
exec chroot . /lib/systemd/systemd
