"""The Lab: bring a topology up, reach its hosts, tear it down (always).

    with Lab("five") as lab:
        lab.exec("web1", ["ip", "-br", "addr"])
        lab.ssh("lb1", "systemctl is-system-running")
        subprocess.run(["ansible", "-i", lab.inventory, "all", "-m", "ping"])
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

from . import access, network, paths, rootfs, roots, signals, systemd_host, userns
from .capture import Capture
from .shell import clean_env, in_cgroup, run
from .state import LabState
from .state import load as load_state
from .teardown import teardown
from .topology import Host, Topology, load


class Lab:
    """A running (or about to run) lab; see the module docstring."""

    def __init__(self, topology: Topology | str | Path, name: str | None = None,
                 owner_pid: int | None = None):
        self.topology = topology if isinstance(topology, Topology) else load(topology)
        if os.environ.get("HAPAIR_LAB_IN_UML"):
            self.topology = self.topology.without_systemd()  # no systemd hosts inside UML
        self.name = paths.check_lab_name(name or self.topology.name)
        self.dir = paths.lab_dir(self.name)
        self.owner_pid = owner_pid
        self.pid1: dict[str, int] = {}
        self.states: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self._signals_held = False

    # ---- lifecycle -------------------------------------------------------
    def up(self) -> Lab:
        """Create switch, hosts and access files; boot systemd hosts in parallel.

        If anything fails (or a signal arrives) on the way, what was built is removed.
        """
        if self.dir.exists() or paths.lab_cgroup(self.name).exists():
            raise RuntimeError(f"lab {self.name} exists; `python -m lab down {self.name}` first")
        start = time.monotonic()
        signals.acquire()
        self._signals_held = True
        try:
            self._build()
        except BaseException:
            self.down()
            raise
        self.timings["up"] = time.monotonic() - start
        return self

    def _build(self) -> None:
        # The state goes first, so `down` can find a half-built lab; the topology
        # is saved with it so `Lab.attach` works for topologies made in code too.
        # Other releases' roots first: a first build takes minutes, before anything is up.
        lowers = {h.name: roots.ensure_root(h.root) for h in self.topology.hosts if h.systemd and h.root}
        paths.make_dirs(self.dir)
        saved_topology = self.dir / "topology.yml"
        saved_topology.write_text(yaml.safe_dump(self.topology.to_data(), sort_keys=False))
        self._state = LabState(self.name, str(saved_topology), owner_pid=self.owner_pid,
                               source=str(self.topology.source or ""))
        self._state.save()
        key, host_key = access.make_keys(self.dir)
        switch_ns = paths.netns_name(self.name, paths.SWITCH)
        network.create_switch(switch_ns, self.topology)
        launchers, holders = {}, {}
        try:
            for index, host in enumerate(self.topology.hosts):
                if host.systemd and self.topology.user_namespaces:
                    holders[host.name] = userns.Holder(self.netns(host.name), userns.OWNER_UID_BASE + index)
                network.create_host_network(switch_ns, self.netns(host.name), index, host,
                                            exists=host.name in holders)
                if host.systemd:
                    launchers[host.name] = self._launch(host, key, host_key, lowers.get(host.name),
                                                        holders.get(host.name))
            consoles = {n: self._host_dir(n) / "console.log" for n in launchers}
            self.pid1 = {n: systemd_host.find_pid1(p, consoles[n]) for n, p in launchers.items()}
        finally:
            for holder in holders.values():
                holder.release()
        self._state.pid1 = self.pid1
        self._state.save()
        access.write_ssh_config(self.name, self.topology, key, self.ssh_config)
        access.write_inventory(self.name, self.topology, key, self.dir)
        self.states = systemd_host.wait_ready(self.pid1, consoles)

    def _launch(self, host: Host, key: Path, host_key: Path, lower: Path | None,
                holder: userns.Holder | None = None) -> subprocess.Popen:
        host_dir = self._host_dir(host.name)
        root = rootfs.mount_overlay(host_dir, lower=lower or Path("/"))
        rootfs.customise(root, host, self.topology, key.with_suffix(".pub").read_text(), host_key)
        cgroup = paths.lab_cgroup(self.name) / host.name
        return systemd_host.start(self.netns(host.name), host.name, root, cgroup,
                                  host_dir / "console.log", own_root=lower is not None,
                                  user_ns=holder.user_ns if holder else None)

    def down(self) -> list[str]:
        """Remove everything this lab made; returns leftovers (empty list = clean)."""
        start = time.monotonic()
        with signals.deferred():
            problems = teardown(self.name)
            if problems:
                print(f"lab {self.name}: teardown left {problems}", file=sys.stderr)
            if self._signals_held:
                self._signals_held = False
                signals.release()
        self.timings["down"] = time.monotonic() - start
        return problems

    def __enter__(self) -> Lab:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()

    @classmethod
    def attach(cls, name: str) -> Lab:
        """A Lab object for a lab that is already up (CLI, commands run inside a lab)."""
        saved = load_state(name)
        if saved is None:
            raise RuntimeError(f"no lab named {name} (no {paths.lab_dir(name)}/state.json)")
        lab = cls(saved.topology, name=name, owner_pid=saved.owner_pid)
        lab.pid1 = dict(saved.pid1)
        return lab

    # ---- facts -----------------------------------------------------------
    @property
    def inventory(self) -> Path:
        return self.dir / "inventory.yml"

    @property
    def ssh_config(self) -> Path:
        return self.dir / "ssh_config"

    @property
    def ssh_key(self) -> Path:
        return self.dir / "id_ed25519"

    def host(self, name: str) -> Host:
        return self.topology.host(name)

    def netns(self, host: str) -> str:
        """The host's network namespace name (`ip netns exec NAME ...`)."""
        return paths.netns_name(self.name, host)

    def address(self, host: str, nic: str | None = None) -> str:
        """The host's first IPv4 address (no prefix), optionally of one NIC."""
        if nic is None:
            return self.host(host).address
        return self.host(host).addresses(nic)[0].split("/")[0]

    def addresses(self, host: str, nic: str | None = None) -> list[str]:
        """All of the host's configured addresses with prefix length."""
        return self.host(host).addresses(nic)

    def _host_dir(self, host: str) -> Path:
        return self.dir / "hosts" / host

    # ---- acting on hosts -------------------------------------------------
    def enter_argv(self, host: str) -> list[str]:
        """The prefix that runs a command inside host (all its namespaces, or its netns)."""
        if host == paths.SWITCH:
            return ["ip", "netns", "exec", self.netns(host)]
        if self.host(host).systemd:
            # Join a cgroup inside the host's tree first: the process then looks
            # local there (not "/../../..") and teardown's cgroup.kill reaches it.
            cgroup = paths.lab_cgroup(self.name) / host / "lab-exec"
            cgroup.mkdir(exist_ok=True)  # no parents: never resurrect a torn-down lab's tree
            return in_cgroup(cgroup) + ["nsenter", "-t", str(self.pid1[host]), "-a"]
        return ["ip", "netns", "exec", self.netns(host)]

    def exec(self, host: str, argv: Sequence[str], *, check: bool = True, input: str | None = None,
             timeout: float | None = 60, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
        """Run argv inside host with a clean environment; CommandError if it fails and check."""
        return run(self.enter_argv(host) + list(argv), check=check, input=input, timeout=timeout,
                   env=clean_env(env))

    def popen(self, host: str, argv: Sequence[str], **kwargs: object) -> subprocess.Popen:
        """Start a background process inside host (teardown kills it with the host)."""
        kwargs.setdefault("env", clean_env())
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen(self.enter_argv(host) + list(argv), **kwargs)  # type: ignore[call-overload]

    def ssh_argv(self, host: str) -> list[str]:
        return ["ssh", "-F", str(self.ssh_config), host]

    def ssh(self, host: str, command: str | Sequence[str], *, check: bool = True,
            timeout: float | None = 60) -> subprocess.CompletedProcess[str]:
        """Run a command on host over ssh (the path Ansible takes)."""
        text = command if isinstance(command, str) else shlex.join(command)
        return run(self.ssh_argv(host) + [text], check=check, timeout=timeout)

    def root(self, host: str) -> Path:
        """The host's filesystem as seen from outside (/proc/PID1/root); systemd hosts only."""
        if not self.host(host).systemd:
            raise ValueError(f"{host} is netns-only and shares the real filesystem")
        return Path(f"/proc/{self.pid1[host]}/root")

    def copy(self, host: str, src: str | Path, dest: str) -> None:
        """Copy a local file into host's private filesystem (its overlay)."""
        target = self.root(host) / dest.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, target)

    def capture(self, host: str, iface: str = "eth0", filter: str = "") -> Capture:
        """tcpdump on host's iface into a pcap (use as a context manager).

        host may be "switch" with a segment name as iface to see a whole segment.
        """
        directory = self.dir / "captures"
        directory.mkdir(exist_ok=True)
        pcap = directory / f"{host}-{iface}-{time.monotonic_ns()}.pcap"
        return Capture(["ip", "netns", "exec", self.netns(host)], iface, filter, pcap)
