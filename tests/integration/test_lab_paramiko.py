"""Python itself speaking SSH to a lab host (paramiko), through the same ProxyCommand the
Ansible inventory uses: the hosts' sshd, the lab key and the daemon on the host all answer.
(Ansible itself uses the ssh connection: its paramiko connection is deprecated.)"""

from __future__ import annotations

import sys
from pathlib import Path

import paramiko

from lab import Lab
from lab.access import proxy_command

LAB_TOPOLOGY = "five"


def run(client: paramiko.SSHClient, command: str) -> tuple[int, str]:
    _stdin, stdout, _stderr = client.exec_command(command, timeout=30)
    out = stdout.read().decode()
    return stdout.channel.recv_exit_status(), out


def test_paramiko_reaches_every_host_over_the_lab_proxy(lab: Lab) -> None:
    daemon = Path(sys.executable).with_name("pykeepalived")
    for host in ("lb1", "lb2", "web1"):
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # fresh lab host keys on every boot
        address = lab.address(host)
        proxy = proxy_command(lab.name, host).replace("%h", address).replace("%p", "22")
        client.connect(address, username="root", key_filename=str(lab.ssh_key),
                       sock=paramiko.ProxyCommand(proxy), timeout=20,
                       allow_agent=False, look_for_keys=False)
        try:
            rc, name = run(client, "hostname")
            assert rc == 0 and name.strip() == host
            rc, state = run(client, "systemctl is-system-running")
            assert state.strip() in ("running", "degraded")
            rc, version = run(client, f"{daemon} --version")
            assert rc == 0 and version.startswith("pykeepalived ")
        finally:
            client.close()
