#!/bin/sh
# PID 1 of the user-mode-linux guest.  The kernel boots with the host's / over
# hostfs, read-only; we stack a tmpfs-backed overlay on it and pivot there, so
# the guest can write anywhere (its /etc, /lib/modules, caches) without ever
# touching the host.  Only /run/work is shared back (results, exit code).
# HAPAIR_SHARE, HAPAIR_MODULES, GLIBC_TUNABLES and OPENSSL_ia32cap come from
# the kernel command line (unknown name=value parameters become init's environment).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
# The overlay's scratch space goes on /run, not /tmp: the repository (and the
# module cache inside it) may itself live under /tmp, e.g. in a CI clone.
mount -t tmpfs -o mode=755 guest /run
mkdir /run/upper /run/work /run/root
insmod "$HAPAIR_MODULES/kernel/fs/overlayfs/overlay.ko"
mount -t overlay -o lowerdir=/,upperdir=/run/upper,workdir=/run/work guest /run/root
mount --move /proc /run/root/proc 2>/dev/null  # warns: no /etc/mtab yet
cd /run/root || exit 1
pivot_root . .
umount -l .
cd /
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=755 run /run
# /tmp stays the overlay's (writable, guest-private) view of the host's /tmp.
# The guest's modules live in the cache; modprobe, ipvsadm and the kernel's
# auto-loader (veth, bridge, IPVS schedulers) look in /lib/modules/VERSION.
mkdir -p /lib/modules
ln -sfn "$HAPAIR_MODULES" "/lib/modules/$(uname -r)"
# The kernel starts modprobe with a fixed environment: hand it the no-AVX settings.
# shellcheck disable=SC2154  # OPENSSL_ia32cap comes from the kernel command line
printf '#!/bin/sh\nexport GLIBC_TUNABLES="%s" OPENSSL_ia32cap="%s"\nexec /sbin/modprobe "$@"\n' \
    "$GLIBC_TUNABLES" "$OPENSSL_ia32cap" > /usr/local/sbin/hapair-kmod-helper
chmod +x /usr/local/sbin/hapair-kmod-helper
echo /usr/local/sbin/hapair-kmod-helper > /proc/sys/kernel/modprobe
mkdir -p /run/work
mount -t hostfs -o "$HAPAIR_SHARE" none /run/work
ip link set lo up
export HOME=/root HAPAIR_LAB_IN_UML=1 HAPAIR_SHARE=/run/work
sh /run/work/guest.sh
echo $? > /run/work/exit-code
sync
poweroff -f 2>/dev/null
