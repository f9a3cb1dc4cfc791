"""A supervised VRRP child imports only what it runs (issue 17, bench/footprint.py).

In a fresh interpreter, the child's own start (cli -> core/daemon -> the snapshot the
parent left -> the VRRP manager) must not load the config language, the load balancer,
the email package, shutil, OpenSSL (``ssl``, ``hashlib``'s ``_hashlib``) or, supervised, the
BFD runtime (the BFD child runs the sessions); ``ssl`` stays importable afterwards."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pykeepalived.config.loader import load_config
from pykeepalived.core import snapshot

CONF = """vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 1
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.77.1.1/32
    }
}
"""

CHILD = """
import sys
from pykeepalived.cli import daemon_parser, import_asyncio_without_tls
args = daemon_parser().parse_args(["-n", "-P", "--ping-fd", "9", "--runtime-dir", sys.argv[1]])
import_asyncio_without_tls()
from pykeepalived.core.daemon import run_daemon  # noqa: F401 (what cli.main imports)
from pykeepalived.core.judge import load_for_child
from pykeepalived.services import sched, startstop  # noqa: F401
from pykeepalived.vrrp.manager import VrrpManager  # noqa: F401
config = load_for_child(args.runtime_dir)
assert config is not None and list(config.vrrp_instances) == ["VI_1"], config
heavy = ("pykeepalived.config.loader", "pykeepalived.config.parser", "pykeepalived.config.keywords",
         "pykeepalived.config.validate", "pykeepalived.lb", "pykeepalived.check", "email", "shutil", "ssl",
         "hashlib", "_hashlib", "pykeepalived.bfd.transport", "random")
print(",".join(sorted(m for m in sys.modules if m.startswith(heavy))))
import ssl  # noqa: E402 (still there for whoever needs it)
print(ssl.OPENSSL_VERSION.split()[0])
"""


def test_a_vrrp_child_loads_no_config_language_lb_or_tls(tmp_path: Path) -> None:
    (tmp_path / "keepalived.conf").write_text(CONF)
    config, diags = load_config(str(tmp_path / "keepalived.conf"))
    assert not diags.errors
    snapshot.save(tmp_path, config)
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], check=True, capture_output=True, text=True)
    loaded, ssl_name = out.stdout.splitlines()
    assert loaded == ""
    assert ssl_name == "OpenSSL"


PARENT = """
import sys
from pykeepalived.cli import import_asyncio_without_tls
import_asyncio_without_tls()
from pykeepalived.core.supervisor import run_supervisor  # noqa: F401 (what cli.main imports)
from pykeepalived.config.loader import load_config
config, diags = load_config(sys.argv[1])
assert not diags.errors and config.virtual_servers, [str(d) for d in diags.items]
print(",".join(sorted(m for m in sys.modules if m in ("ssl", "_ssl"))))
"""


def test_the_parent_reads_a_config_without_tls(tmp_path: Path) -> None:
    """The parent reads every config (start, reloads): an HTTP_GET's keywords do not bring OpenSSL
    in; the SSL block's context is made only for a config that has one (config/ssl_client.py)."""
    conf = tmp_path / "keepalived.conf"
    conf.write_text(CONF + "virtual_server 10.77.1.1 80 {\n    protocol TCP\n"
                    "    real_server 10.77.2.1 80 {\n        HTTP_GET {\n            url {\n"
                    "                path /\n                regex \"ok\"\n            }\n        }\n    }\n}\n")
    out = subprocess.run([sys.executable, "-c", PARENT, str(conf)], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == ""
