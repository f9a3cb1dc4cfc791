"""The daemon's packaged systemd unit names no documentation that does not exist.

systemd shows Documentation= URIs in `systemctl status` and `systemctl help`; the
project publishes no web page and no man page yet, so the unit may only point at
files the package itself installs (file: URIs under the package's data directory).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "daemon" / "src" / "pykeepalived" / "data" / "pykeepalived.service"


def documentation_uris(text: str) -> list[str]:
    uris = []
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "Documentation":
            uris.extend(value.split())
    return uris


def test_unit_documentation_names_only_shipped_files():
    for uri in documentation_uris(UNIT.read_text()):
        assert uri.startswith("file:"), f"{UNIT.name}: Documentation={uri} is not a file the package installs"
        assert (UNIT.parent / Path(uri[len("file:"):]).name).is_file(), uri


def test_documentation_parser():
    assert documentation_uris("[Unit]\nDocumentation=man:a(8) https://x\nDocumentation = file:/b\n") == [
        "man:a(8)", "https://x", "file:/b"]
