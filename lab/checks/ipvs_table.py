"""Reading the kernel's IPVS table as `ipvsadm -Ln` prints it (for tests in the UML guest)."""

from __future__ import annotations


def ipvsadm_dests(table: str, vip: str) -> dict[str, tuple[str, int]]:
    """`ipvsadm -Ln` output -> {real server: (forward method, weight)} for the service at ``vip``."""
    out, inside = {}, False
    for line in table.splitlines():
        if line.startswith(("TCP", "UDP", "FWM", "SCTP")):
            inside = line.split()[1] == vip
        elif inside and line.strip().startswith("->") and "RemoteAddress" not in line:
            f = line.split()
            out[f[1]] = (f[2], int(f[3]))
    return out
