"""The architecture rule: codecs and state machines import no asyncio and no sockets."""
from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
before = set(sys.modules)
import pykeepalived.vrrp
new = set(sys.modules) - before
print(",".join(sorted(m for m in new if m.split(".")[0] in
                      {"asyncio", "socket", "select", "selectors", "threading", "subprocess", "pyroute2"})))
"""


def test_vrrp_package_imports_no_io_modules() -> None:
    out = subprocess.run([sys.executable, "-I", "-c", PROBE], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == ""
