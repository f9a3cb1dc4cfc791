"""Run inside ``unshare --net`` (root): VmacManager creates, adopts, replaces and deletes real macvlans.

Its sysctls are this private namespace's (/proc/sys/net follows the caller's netns).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from pykeepalived.net.vmac import VmacError, VmacManager, VmacSpec, virtual_mac


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


def link(name: str) -> dict | None:
    out = subprocess.run(["ip", "-d", "-j", "link", "show", "dev", name], capture_output=True, text=True, check=False)
    return json.loads(out.stdout)[0] if out.returncode == 0 else None


def conf(dev: str, key: str, family: int = 4) -> int:
    return int(Path(f"/proc/sys/net/ipv{family}/conf/{dev}/{key}").read_text())


def main() -> dict:
    ip("link", "add", "b0", "type", "veth", "peer", "name", "b1")
    ip("link", "set", "b0", "up")
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "vmacs.json"
        spec = VmacSpec("vrrp.7", "b0", virtual_mac(7, 4))
        index = VmacManager(state).ensure(spec)
        got = link("vrrp.7")
        out["created"] = [got["ifindex"] == index, got["address"], got["linkinfo"]["info_kind"],
                          got["linkinfo"]["info_data"]["mode"], got["link"], "UP" in got["flags"]]
        out["vmac_sysctls"] = [conf("vrrp.7", k) for k in ("arp_ignore", "accept_local", "rp_filter",
                                                            "promote_secondaries")] + [conf("vrrp.7", "disable_ipv6", 6)]
        out["base_sysctls"] = [conf("b0", "arp_ignore"), conf("b0", "arp_filter")]
        out["addr_gen_mode"] = got.get("inet6_addr_gen_mode")
        out["nft"] = subprocess.run(["nft", "list", "table", "ip", "pykeepalived_vmac"], capture_output=True,
                                    text=True, check=False).stdout

        # a new daemon (kill -9 before): adopts its own link, same ifindex
        again = VmacManager(state)
        out["adopted"] = again.ensure(spec) == index
        # ours but wrong MAC now: replaced by a fresh one
        ip("link", "set", "vrrp.7", "address", "02:00:00:00:00:07")
        again = VmacManager(state)  # the next start
        fixed = again.ensure(spec)
        out["replaced"] = [fixed != index, link("vrrp.7")["address"]]
        try:  # a second instance of the same run naming the same VMAC
            again.ensure(spec)
            out["second"] = "accepted"
        except VmacError as err:
            out["second"] = str(err)
        # a same-named link we did not create: refused, untouched
        ip("link", "add", "link", "b0", "name", "vrrp.8", "type", "macvlan", "mode", "private")
        foreign = link("vrrp.8")["ifindex"]
        try:
            again.ensure(VmacSpec("vrrp.8", "b0", virtual_mac(8, 4)))
            out["foreign"] = "accepted"
        except VmacError as err:
            out["foreign"] = [str(err), link("vrrp.8")["ifindex"] == foreign]
        again.remove("vrrp.8")  # not ours: nothing happens
        out["foreign_kept"] = link("vrrp.8") is not None
        # IPv6: the base's link-local copied, no kernel-made one
        v6 = VmacSpec("vrrp6.9", "b0", virtual_mac(9, 6), family=6, link_local="fe80::9")
        again.ensure(v6)
        out["v6"] = [link("vrrp6.9")["address"], ip("-6", "-o", "addr", "show", "dev", "vrrp6.9").split()[3]]
        again.remove("vrrp6.9")
        # stop: deleted, the base's sysctls back to what they were
        again.remove("vrrp.7")
        out["removed"] = [link("vrrp.7") is None, conf("b0", "arp_ignore"), conf("b0", "arp_filter"),
                          json.loads(state.read_text())]
        # all.rp_filter set: raised below it first, then 0 (keepalived's clear_rp_filter), and back at stop
        Path("/proc/sys/net/ipv4/conf/all/rp_filter").write_text("2")
        spec10 = VmacSpec("vrrp.10", "b0", virtual_mac(10, 4))
        again.ensure(spec10)
        out["rp_cleared"] = [conf("all", "rp_filter"), conf("default", "rp_filter"), conf("b0", "rp_filter"),
                             conf("b1", "rp_filter"), conf("vrrp.10", "rp_filter")]
        again.remove("vrrp.10")
        out["rp_restored"] = [conf("all", "rp_filter"), conf("default", "rp_filter"), conf("b0", "rp_filter"),
                              conf("b1", "rp_filter")]
        out["nft_after"] = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True,
                                          check=False).stdout
    return out


if __name__ == "__main__":
    json.dump(main(), sys.stdout)
