"""A host's private root: overlayfs over the real / (or a Debian root of lab/roots.py) with a
tmpfs upper, then customised.

All customisation writes go into the overlay (the tmpfs upper), never into the
real machine's /etc.  Units that must not run in a lab host are masked.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from .shell import run
from .topology import Host, Topology

# Units a lab host must not start: real daemons we test against explicitly
# (keepalived), services touching hardware, the real network config or the
# real kernel, and timers that only burn CPU. Also what holds an inotify instance
# a lab host can do without (fs.inotify.max_user_instances, 128, counts root's
# instances over the whole machine): each path unit has its own, dbus-daemon one
# (nothing in a lab host uses the bus: systemctl as root talks to PID 1's private
# socket). PID 1 keeps three (cgroup events, /etc/localtime, the mount table's utab).
MASKED_UNITS = (
    "keepalived.service", "postgresql.service", "cron.service",
    "getty@.service", "serial-getty@.service", "console-getty.service",
    "container-getty@.service", "getty-static.service", "getty.target",
    "apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer",
    "e2scrub_all.timer", "e2scrub_reap.service", "fstrim.timer", "man-db.timer",
    "systemd-tmpfiles-clean.timer", "systemd-timesyncd.service", "systemd-pstore.service",
    "systemd-sysctl.service", "systemd-modules-load.service", "systemd-binfmt.service",
    "systemd-networkd.service", "systemd-resolved.service", "networking.service",
    "ifupdown-pre.service", "NetworkManager.service", "remote-fs.target",
    "systemd-logind.service", "systemd-hwdb-update.service", "ldconfig.service",
    "systemd-ask-password-console.path", "systemd-ask-password-wall.path",
    "dbus.service", "dbus.socket",
    # (mounts a host in a user namespace of its own may not make, lab/userns.py)
    "dev-hugepages.mount", "sys-fs-fuse-connections.mount",
)

SSHD_CONFIG = """\
# Written by the hapair lab: key-only root login with the lab's host key.
HostKey /etc/ssh/hapair_lab_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
"""


def mount_overlay(host_dir: Path, tmpfs_size: str = "512m", lower: Path = Path("/")) -> Path:
    """Mount HOST_DIR/fs (tmpfs: upper+work) and HOST_DIR/root (overlay, lowerdir=LOWER)."""
    fs, root = host_dir / "fs", host_dir / "root"
    fs.mkdir(parents=True, exist_ok=True)
    root.mkdir(exist_ok=True)
    run(["mount", "-t", "tmpfs", "-o", f"size={tmpfs_size},mode=755", "hapair-lab", str(fs)])
    (fs / "u").mkdir()
    (fs / "w").mkdir()
    run(["mount", "-t", "overlay", "hapair-lab", "-o",
         f"lowerdir={lower},upperdir={fs}/u,workdir={fs}/w", str(root)])
    return root


def _write(root: Path, rel: str, text: str, mode: int = 0o644) -> None:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink()
    path.write_text(text)
    os.chmod(path, mode)


def _symlink(root: Path, rel: str, target: str) -> None:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink()
    path.symlink_to(target)


def hosts_file(topology: Topology) -> str:
    """/etc/hosts naming every lab host by its addresses, so hosts can `ping web1`."""
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    for host in topology.hosts:
        for addr in host.addresses():
            lines.append(f"{addr.split('/')[0]}\t{host.name}")
    return "\n".join(lines) + "\n"


def customise(root: Path, host: Host, topology: Topology, public_key: str,
              host_key: Path) -> None:
    """Make the overlay a distinct machine: identity, boot target, masks, ssh access."""
    _write(root, "/etc/hostname", host.name + "\n")
    _write(root, "/etc/hosts", hosts_file(topology))
    _write(root, "/etc/machine-id", uuid.uuid4().hex + "\n", 0o444)
    # No fstab entries: the minimal /dev has no block devices to wait 90 s for.
    _write(root, "/etc/fstab", "# hapair lab host: no fstab mounts\n")
    _symlink(root, "/etc/systemd/system/default.target", "/lib/systemd/system/multi-user.target")
    for unit in MASKED_UNITS:
        _symlink(root, f"/etc/systemd/system/{unit}", "/dev/null")
    _symlink(root, "/etc/systemd/system/multi-user.target.wants/ssh.service",
             "/lib/systemd/system/ssh.service")
    (root / "root/.ssh").mkdir(mode=0o700, parents=True, exist_ok=True)
    _write(root, "/root/.ssh/authorized_keys", public_key, 0o600)
    _write(root, "/etc/ssh/sshd_config.d/hapair-lab.conf", SSHD_CONFIG)
    _write(root, "/etc/ssh/hapair_lab_host_ed25519_key", host_key.read_text(), 0o600)
    _write(root, "/etc/ssh/hapair_lab_host_ed25519_key.pub",
           host_key.with_suffix(".pub").read_text())
