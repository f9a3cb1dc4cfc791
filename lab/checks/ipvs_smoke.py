"""IPVS end to end, run inside the UML guest with the `ipvs` topology up:

    python -m lab up ipvs --kernel uml -- python -m lab.checks.ipvs_smoke

ipvsadm creates a round-robin NAT service on the VIP in `lb`; two netns web
servers answer with their names; `client` fetches the VIP several times.
Writes ipvs.json to $HAPAIR_SHARE and exits non-zero if anything is off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from lab.core import Lab

VIP, PORT, BACKEND_PORT, REQUESTS = "192.0.2.80", 80, 8080, 6
CLIENT_CODE = """
import sys, urllib.request
for _ in range(int(sys.argv[2])):
    print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())
"""


def start_web(lab: Lab, host: str) -> None:
    """A python http.server in host serving a page that names the host."""
    docroot = Path("/tmp") / host  # the guest's tmpfs (netns-only hosts share it)
    docroot.mkdir(exist_ok=True)
    (docroot / "index.html").write_text(host + "\n")
    with open(docroot.with_suffix(".log"), "w") as log:  # the child keeps its own copy
        lab.popen(host, [sys.executable, "-m", "http.server", str(BACKEND_PORT), "--bind",
                         lab.address(host), "--directory", str(docroot)],
                  stdout=subprocess.DEVNULL, stderr=log)


def wait_listening(lab: Lab, host: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if f":{BACKEND_PORT}" in lab.exec(host, ["ss", "-ltnH"]).stdout:
            return
        time.sleep(0.2)
    raise TimeoutError(f"{host}: http.server not listening")


def main() -> int:
    lab = Lab.attach(os.environ["HAPAIR_LAB"])
    service = f"{VIP}:{PORT}"
    lab.exec("lb", ["ipvsadm", "-A", "-t", service, "-s", "rr"])
    for web in ("web1", "web2"):
        lab.exec("lb", ["ipvsadm", "-a", "-t", service, "-r",
                        f"{lab.address(web)}:{BACKEND_PORT}", "-m"])
    table = lab.exec("lb", ["ipvsadm", "-Ln"]).stdout
    for web in ("web1", "web2"):
        start_web(lab, web)
    for web in ("web1", "web2"):
        wait_listening(lab, web)
    fetched = lab.exec("client", [sys.executable, "-c", CLIENT_CODE, f"http://{service}/",
                                  str(REQUESTS)]).stdout.split()
    counts = Counter(fetched)
    report = {"ipvsadm": table, "responses": fetched, "counts": dict(counts),
              "stats": lab.exec("lb", ["ipvsadm", "-Ln", "--stats"]).stdout}
    print(json.dumps(report, indent=2))
    Path(os.environ.get("HAPAIR_SHARE", "/tmp"), "ipvs.json").write_text(json.dumps(report))
    balanced = counts == Counter({"web1": REQUESTS // 2, "web2": REQUESTS // 2})
    return 0 if f"TCP  {service} rr" in table and balanced else 1


if __name__ == "__main__":
    sys.exit(main())
