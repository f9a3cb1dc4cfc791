"""The lab's wires: a switch netns with one bridge per segment, a netns per host, veth pairs.

The bridges have multicast snooping off so VRRP (224.0.0.18) and other
link-local multicast floods to every port, like a dumb switch.
"""

from __future__ import annotations

from .shell import run
from .topology import Host, Topology


def port_name(host_index: int, host: Host, nic: str) -> str:
    """The switch-side veth name: readable when it fits in IFNAMSIZ (15), else indexed."""
    name = f"{host.name}.{nic}"
    return name if len(name) <= 15 else f"p{host_index}.{nic}"


def ip_batch(netns: str | None, commands: list[str]) -> None:
    """Run several `ip` commands in one process (fast), optionally inside a netns."""
    if not commands:
        return
    argv = ["ip"] + (["-n", netns] if netns else []) + ["-batch", "-"]
    run(argv, input="\n".join(commands) + "\n")


def create_switch(switch_ns: str, topology: Topology) -> None:
    """The switch namespace and a bridge per segment."""
    run(["ip", "netns", "add", switch_ns])
    cmds = ["link set lo up"]
    for seg in topology.segments:
        cmds += [
            f"link add {seg} type bridge mcast_snooping 0 stp_state 0",
            f"link set {seg} up",
        ]
    ip_batch(switch_ns, cmds)


def create_host_network(switch_ns: str, host_ns: str, index: int, host: Host, exists: bool = False) -> None:
    """The host's netns (unless it EXISTS: made in the host's user namespace, lab/userns.py),
    its NICs wired to the segment bridges, addresses, gateway, sysctls."""
    if not exists:
        run(["ip", "netns", "add", host_ns])
    root_cmds = []
    switch_cmds = []
    host_cmds = ["link set lo up"]
    for nic in host.nics:
        port = port_name(index, host, nic.name)
        root_cmds.append(f"link add {nic.name} netns {host_ns} type veth peer name {port} netns {switch_ns}")
        switch_cmds.append(f"link set {port} master {nic.segment} up")
        for addr in nic.addresses:
            # nodad: IPv6 addresses are usable at once instead of after ~1 s of DAD.
            extra = " nodad" if addr.version == 6 else ""
            host_cmds.append(f"addr add {addr} dev {nic.name}{extra}")
        host_cmds.append(f"link set {nic.name} up")
    if host.gateway:
        host_cmds.append(f"route add default via {host.gateway}")
    ip_batch(None, root_cmds)
    ip_batch(switch_ns, switch_cmds)
    ip_batch(host_ns, host_cmds)
    for key, value in host.sysctls.items():
        # Only net.* (checked by the topology parser): these are per-netns.
        run(["ip", "netns", "exec", host_ns, "sysctl", "-qw", f"{key}={value}"])
