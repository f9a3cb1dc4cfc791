"""Run inside ``unshare --net`` (root): AddressManager's crash record and adoption on a dummy link."""
from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from pykeepalived.net.addresses import AddressManager, VipSpec
from pykeepalived.net.rtnl import host_addresses


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


def present() -> list[str]:
    return sorted(line.split()[3] for line in ip("-o", "addr", "show", "dev", "d0").splitlines()
                  if " inet" in line and "fe80" not in line)


def vip(text: str) -> VipSpec:
    return VipSpec(ipaddress.ip_interface(text), "d0")


def main() -> dict:
    ip("link", "add", "d0", "type", "veth", "peer", "name", "d1")  # no dummy module here
    ip("link", "set", "d1", "up")
    ip("link", "set", "d0", "up")
    ip("addr", "add", "192.0.2.9/24", "dev", "d0")  # the operator's: never ours
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "vips.json"
        a = AddressManager(state)
        a.add([vip("192.0.2.100/24"), vip("192.0.2.101/24"), vip("192.0.2.9/24"), vip("2001:db8::100/64")])
        out["record_after_add"] = json.loads(state.read_text())["added"]
        # "kill -9": a is dropped without remove_all; the operator removes one VIP by hand meanwhile
        ip("addr", "del", "192.0.2.101/24", "dev", "d0")
        ip("addr", "add", "192.0.2.102/24", "dev", "d0")  # present, but never recorded: not ours
        b = AddressManager(state)
        adopted = b.adopt()
        out["adopted"] = sorted(list(k) for k in adopted)
        out["record_after_adopt"] = json.loads(state.read_text())["added"]
        b.remove_all()
        out["present_after_remove_all"] = present()
        out["record_after_remove_all"] = json.loads(state.read_text())["added"]
        # a corrupt record adopts nothing
        state.write_text("{not json")
        ip("addr", "add", "192.0.2.103/24", "dev", "d0")
        c = AddressManager(state)
        out["adopted_from_garbage"] = sorted(list(k) for k in c.adopt())
        # no record at all (no state file): nothing adopted, nothing written
        d = AddressManager(None)
        out["adopted_without_state"] = sorted(list(k) for k in d.adopt())
        # requests encoded for d0, then d0 re-created (new index): they are re-encoded once
        labelled = VipSpec(ipaddress.ip_interface("198.51.100.120/24"), "d0", scope="host", label="d0:vip",
                           brd=ipaddress.IPv4Address("198.51.100.255"))
        batch = [labelled, vip("192.0.2.121/24"), VipSpec(ipaddress.ip_interface("192.0.2.122/24"), "nosuch0")]
        e = AddressManager(None)
        e.prepare(batch)
        ip("link", "del", "d0")
        ip("link", "add", "d0", "type", "veth", "peer", "name", "d1")
        ip("link", "set", "d0", "up")
        e.add(batch)
        out["recreated_owned"] = [e.owns(v) for v in batch]
        out["recreated_lines"] = sorted(" ".join(line.split("\\")[0].split()[3:]) for line in ip("-o", "addr", "show", "dev", "d0").splitlines()
                                        if " inet " in line)
        e.remove(batch)
        out["recreated_after_remove"] = present()
        ip("addr", "add", "2001:db8::7/64", "dev", "d0", "nodad")
        ip("addr", "add", "203.0.113.7/24", "dev", "d1")
        out["host_addresses"] = sorted(a for a in host_addresses() if not a.startswith("fe80"))
    return out


if __name__ == "__main__":
    json.dump(main(), sys.stdout)
