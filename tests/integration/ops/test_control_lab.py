"""Control socket and drain in the lab (issue 6).

lb1 runs pykeepalived with VI_62 and a virtual server whose real servers are web1 (an HTTP
server, TCP_CHECK up) and web2 (nothing listening: down).  The host kernel has no IPVS, so the
plane runs on its in-memory table: drain/undrain/set-weight semantics, persistence across a
restart and the socket's access rules are checked here; the kernel side of a drain (weight 0
in IPVS, an established connection continuing, wait-drain returning when it closes) needs the
UML kernel (docs/operations.md says what remains).
"""
from __future__ import annotations

import json
import time

import pytest
from vrrp.vrrp_hosts import Daemon, conf, wait_for, wait_vip

from .ops_hosts import FUZZ_CLIENT, RAW_CLIENT, ctl, ctl_json, wait_children_up

LAB_TOPOLOGY = "five"
VIP = "192.0.2.202"
VS = """virtual_server 192.0.2.202 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.21 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 192.0.2.22 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
"""


def servers(status: dict) -> dict[str, dict]:
    return {r["address"]: r for v in status["result"]["lb"]["virtual_servers"] for r in v["real_servers"]}


@pytest.fixture(scope="module")
def web(lab):
    """An HTTP server on web1 (stopped by its PID inside the host)."""
    lab.popen("web1", ["sh", "-c", "echo $$ > /run/hk-ops-web.pid; "
                       "exec /usr/bin/python3 -m http.server -b 192.0.2.21 80 >/dev/null 2>&1"])
    wait_for(lambda: lab.exec("web1", ["test", "-s", "/run/hk-ops-web.pid"], check=False).returncode == 0, 5,
             "web server did not start")
    yield
    lab.exec("web1", ["sh", "-c", "kill $(cat /run/hk-ops-web.pid)"], check=False)


@pytest.fixture
def lb(lab, web, tmp_path):
    d = Daemon(lab, "lb1", "pykeepalived", "ops-c", conf(62, 150, VIP, state="MASTER") + VS)
    lab.exec("lb1", ["rm", "-f", f"{d.dir}/lb-overrides.json"])  # operator state of an earlier test
    d.start(tmp_path)
    wait_children_up(lab, "lb1", d.dir)
    wait_vip(lab, "lb1", VIP, 3)
    wait_for(lambda: not servers(ctl_json(lab, "lb1", d.dir, "status"))["192.0.2.22"]["up"], 10,
             "web2 never went down")
    yield d, tmp_path
    if d.running():
        d.stop()


def test_drain_is_idempotent_and_survives_a_restart(lab, lb) -> None:
    d, tmp = lb
    st = servers(ctl_json(lab, "lb1", d.dir, "status"))
    assert st["192.0.2.21"]["up"] and st["192.0.2.21"]["effective_weight"] == 3
    human = ctl(lab, "lb1", d.dir, "status").stdout
    assert "192.0.2.21:80" in human and "VI_62" in human and "MASTER" in human

    first = ctl(lab, "lb1", d.dir, "drain", "192.0.2.21", "80")
    assert first.returncode == 0 and first.stdout.strip() == "drained"
    again = ctl(lab, "lb1", d.dir, "drain", "192.0.2.21", "80")
    assert again.returncode == 0 and again.stdout.strip() == "already drained"
    again_json = ctl_json(lab, "lb1", d.dir, "drain", "192.0.2.21", "80")
    assert again_json["result"] == {"changed": False, "message": "already drained"}
    st = servers(ctl_json(lab, "lb1", d.dir, "status"))
    assert st["192.0.2.21"]["drained"] and st["192.0.2.21"]["effective_weight"] == 0
    assert ctl(lab, "lb1", d.dir, "wait-drain", "192.0.2.21", "80", "--timeout", "2").stdout.strip() == "drained"
    unknown = ctl(lab, "lb1", d.dir, "drain", "192.0.2.99")
    assert unknown.returncode == 1 and "no real server" in unknown.stderr

    # a restart keeps the drain (RUNTIME_DIR/lb-overrides.json) until the config drops the server
    d.stop()
    d.start(tmp)
    wait_for(lambda: (tmp / "lb1-ops-c.log").read_text().count("restored 1 operator override") == 1, 10,
             "drain not restored")
    st = servers(ctl_json(lab, "lb1", d.dir, "status"))
    assert st["192.0.2.21"]["drained"] and st["192.0.2.21"]["effective_weight"] == 0
    assert ctl(lab, "lb1", d.dir, "undrain", "192.0.2.21", "80").stdout.strip() == "undrained"
    assert ctl(lab, "lb1", d.dir, "undrain", "192.0.2.21", "80").stdout.strip() == "already undrained"
    assert ctl(lab, "lb1", d.dir, "set-weight", "192.0.2.21", "--weight", "9").stdout.strip() == "weight 9"
    wait_for(lambda: servers(ctl_json(lab, "lb1", d.dir, "status"))["192.0.2.21"]["effective_weight"] == 9, 5,
             "operator weight not applied")
    assert ctl(lab, "lb1", d.dir, "set-weight", "192.0.2.21", "--weight", "clear").returncode == 0


def test_socket_refuses_non_root_and_survives_fuzz(lab, lb) -> None:
    d, _ = lb
    sock = f"{d.dir}/control.sock"
    assert lab.exec("lb1", ["stat", "-c", "%a %U", sock]).stdout.split() == ["600", "root"]
    lab.exec("lb1", ["tee", "/tmp/hk-client.py"], input=RAW_CLIENT)
    lab.exec("lb1", ["tee", "/tmp/hk-fuzz.py"], input=FUZZ_CLIENT)
    nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3",
              "/tmp/hk-client.py", sock]
    out = lab.exec("lb1", nobody, check=False)
    assert out.returncode == 3 and "Permission denied" in out.stdout  # mode 0600
    # even with the file mode opened up, SO_PEERCRED turns nobody away
    lab.exec("lb1", ["chmod", "666", sock])
    out = lab.exec("lb1", nobody, check=False)
    assert json.loads(out.stdout) == {"v": 1, "ok": False, "error": "permission denied: root only"}
    lab.exec("lb1", ["chmod", "600", sock])

    pid = d.pids()[0]
    for seed in (1, 2, 3):
        res = lab.exec("lb1", ["/usr/bin/python3", "/tmp/hk-fuzz.py", sock, str(seed)], timeout=120)
        assert int(res.stdout) > 900
    time.sleep(0.3)
    assert d.pids()[0] == pid and d.running()
    st = ctl_json(lab, "lb1", d.dir, "status")
    assert st["ok"] and st["result"]["vrrp"]["instances"][0]["state"] == "MASTER"
    assert sorted(servers(st)) == ["192.0.2.21", "192.0.2.22"]  # (the fuzz may have drained some)
