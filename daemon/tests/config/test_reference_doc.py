"""docs/config-reference.md names every keyword the parser accepts, and every keepalived 2.2
keyword (those it refuses with the reason, in "keepalived keywords pykeepalived refuses")."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.config import keywords  # noqa: F401  (fills BLOCKS)
from pykeepalived.config.known import BLOCKS, KEEPALIVED_KEYWORDS

DOC = Path(__file__).resolve().parents[3] / "docs" / "config-reference.md"


def test_every_keyword_is_documented() -> None:
    text = DOC.read_text()
    missing = sorted({name for spec in BLOCKS.values() for name in spec.keywords if f"`{name}`" not in text})
    assert not missing, f"undocumented keywords: {missing}"


def test_every_keepalived_keyword_is_documented_supported_or_refused() -> None:
    text = DOC.read_text()
    missing = sorted(name for name in KEEPALIVED_KEYWORDS if f"`{name}`" not in text)
    assert not missing, f"keepalived keywords the reference does not mention: {missing}"


def test_the_refused_list_names_only_refused_keywords() -> None:
    text = DOC.read_text()
    section = text[text.index("### keepalived keywords pykeepalived refuses"):text.index("### keepalived's samples")]
    accepted = {name for spec in BLOCKS.values() for name in spec.keywords}
    first_column = [row.split("|")[1] for row in section.splitlines() if row.startswith("| `")]
    listed = {word.strip("`") for cell in first_column for word in cell.replace(",", " ").split() if word.startswith("`")}
    assert not listed & accepted, f"listed as refused but accepted: {sorted(listed & accepted)}"
