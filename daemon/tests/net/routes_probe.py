"""Run inside ``unshare --net`` (root): RoutingManager adds and removes keepalived's route and
rule lines on a veth, and leaves the operator's own alone."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from pykeepalived.config.loader import loads_config
from pykeepalived.net.routes import RoutingManager
from pykeepalived.vrrp.routing import routing

CONFIG = """
static_routes {
    198.51.100.0/24 via 192.0.2.254 dev d0
    203.0.113.0/24 via 192.0.2.254 dev d0 table 100 metric 5 src 192.0.2.1
    10.1.0.0/16 via 192.0.2.252 or 192.0.2.253
    10.2.0.0/16 nexthop via 192.0.2.252 dev d0 weight 3 nexthop via 192.0.2.253 dev d0
    blackhole 10.3.0.0/16
    unreachable 10.4.0.0/16 table 1000
    10.5.0.0/16 dev d0 scope link mtu 1400
    10.6.0.0/16 dev nosuchdev
    2001:db8:1::/48 via 2001:db8::fe dev d0 metric 100
    prohibit 2001:db8:2::/48
}
static_rules {
    from 192.0.2.0/24 table 100 priority 1000
    to 10.0.0.0/8 fwmark 0x10/0xff iif d0 table 1000
    from 10.9.0.0/16 blackhole priority 500
    not from 10.8.0.0/16 table 8 priority 600
    from 192.0.2.128/25 table 7 priority 700
    from 2001:db8::/32 table 100
}
"""


def ip(*args: str) -> list[str]:
    out = subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout
    return [" ".join(line.split()) for line in out.splitlines()]


def state() -> dict:
    return {"routes4": ip("-4", "route", "show", "table", "all", "type", "unicast") +
            ip("-4", "route", "show", "table", "all", "type", "blackhole") +
            ip("-4", "route", "show", "table", "all", "type", "unreachable"),
            "routes6": [r for r in ip("-6", "route", "show", "table", "all") if "db8" in r and "local" not in r],
            "rules4": ip("-4", "rule"), "rules6": ip("-6", "rule")}


def main() -> dict:
    ip("link", "add", "d0", "type", "veth", "peer", "name", "d1")  # no dummy module here
    ip("link", "set", "d1", "up")
    ip("link", "set", "d0", "up")
    ip("addr", "add", "192.0.2.1/24", "dev", "d0")
    ip("addr", "add", "2001:db8::1/64", "dev", "d0", "nodad")
    # the operator's own: one with our first line's destination, one rule equal to ours but its priority
    ip("route", "add", "198.51.100.0/24", "via", "192.0.2.9", "proto", "boot")
    ip("rule", "add", "from", "192.0.2.128/25", "table", "7", "priority", "701")
    config, diags = loads_config(CONFIG)
    assert not diags.errors, diags.errors
    entries = routing(config.static_routes, config.static_rules)
    out: dict = {"before": state()}
    manager = RoutingManager()
    manager.add(entries)
    out["owned"] = [manager.owns(e) for e in entries]
    out["added"] = state()
    manager.add(entries)  # again: nothing new (ours are known; the operator's still not ours)
    manager.remove(entries)
    out["removed"] = state()
    manager.add(entries)
    manager.remove_all()
    out["removed_all"] = state()
    manager.close()
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "routes.json"
        crashed = RoutingManager(record)
        crashed.add(entries)  # then "kill -9": never removed
        out["recorded"] = len(json.loads(record.read_text())["added"])
        ip("route", "del", "10.3.0.0/16")  # the operator removes one meanwhile
        restarted = RoutingManager(record)
        out["adopted"] = len(restarted.adopt())
        out["owned_after_adopt"] = [restarted.owns(e) for e in entries]
        restarted.remove_all()
        out["after_adopted_removed"] = state()
        out["record_after"] = json.loads(record.read_text())["added"]
        record.write_text("{not json")
        out["adopted_from_garbage"] = len(RoutingManager(record).adopt())
        crashed.close()
        restarted.close()
    return out


if __name__ == "__main__":
    json.dump(main(), sys.stdout)
