"""docs/config-reference.md names every keyword the parser accepts."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.config import keywords  # noqa: F401  (fills BLOCKS)
from pykeepalived.config.known import BLOCKS

DOC = Path(__file__).resolve().parents[3] / "docs" / "config-reference.md"


def test_every_keyword_is_documented() -> None:
    text = DOC.read_text()
    missing = sorted({name for spec in BLOCKS.values() for name in spec.keywords if f"`{name}`" not in text})
    assert not missing, f"undocumented keywords: {missing}"
