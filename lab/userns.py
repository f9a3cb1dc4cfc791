"""A user namespace of its own for a systemd host (topology ``user_namespaces: true``).

Why: the kernel counts inotify instances per user, and a child user namespace's
count is also charged to its owner in the parent.  Root's limit on this machine is
128 for everything it runs (``fs.inotify.max_user_instances``, a setting we may not
change); a lab host's systemd holds 3 of them, so about 40 hosts fill it and starve
every other lab.  Owned by a uid of its own, a host's instances count against that
uid instead of root's.

The host's network namespace is made inside its user namespace (so the host's root
has CAP_NET_ADMIN over it: VIPs, nftables, net.* sysctls) and named like any lab
netns (``ip netns attach``); the uid and gid maps are the identity, so files and
processes look as they do on a host without one.  The lab then launches the host
with ``nsenter`` into both (systemd_host.start) and lets the holder go.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .shell import run

# Owner uids: the host's index in its topology on top of this base, far from real
# users and from the usual subordinate uid ranges. (Two labs sharing a uid share its
# 128 instances; a host holds 3.)
OWNER_UID_BASE = 1_500_000_000
IDENTITY_MAP = "0 0 4294967295\n"


class Holder:
    """The process that owns a host's user namespace until the host's PID 1 is in it."""

    def __init__(self, netns: str, owner_uid: int):
        # unshare runs as owner_uid, so the new user namespace is owned by it.
        self.proc = subprocess.Popen(
            ["setpriv", f"--reuid={owner_uid}", f"--regid={owner_uid}", "--clear-groups",
             "unshare", "--user", "--net", "sh", "-c", "echo ready; exec cat >/dev/null"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/")
        try:
            line = self.proc.stdout.readline().strip() if self.proc.stdout else ""
            if line != "ready":
                raise RuntimeError(f"user namespace for {netns}: holder said {line!r} "
                                   f"(exit {self.proc.poll()})")
            for name in ("uid_map", "gid_map"):
                Path(f"/proc/{self.proc.pid}/{name}").write_text(IDENTITY_MAP)
            run(["ip", "netns", "attach", netns, str(self.proc.pid)])
        except BaseException:
            self.release()
            raise

    @property
    def user_ns(self) -> str:
        return f"/proc/{self.proc.pid}/ns/user"

    def release(self) -> None:
        """The namespaces now live on in the host (and the netns name); the holder exits."""
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
