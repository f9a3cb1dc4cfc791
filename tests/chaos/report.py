"""Copy the chaos tables (tests/output/chaos/*.md) into docs/reliability.md, with date and command.

Run by ``make chaos`` after the suite: replaces what lies between the markers
``<!-- chaos:results:begin -->`` and ``<!-- chaos:results:end -->``.
argv: COMMAND (the command line that produced the tables, printed above them).
"""
from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "tests" / "output" / "chaos"
DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- chaos:results:begin -->", "<!-- chaos:results:end -->"


def main(argv: list[str]) -> int:
    tables = sorted(OUTPUT.glob("*.md"))
    if not tables:
        print(f"no tables under {OUTPUT}", file=sys.stderr)
        return 1
    doc = DOC.read_text()
    if BEGIN not in doc or END not in doc:
        print(f"{DOC}: error: the markers {BEGIN} / {END} are missing", file=sys.stderr)
        return 1
    stamp = time.strftime("%Y-%m-%d %H:%M %Z")
    body = (f"{BEGIN}\nMeasured {stamp} on {platform.node()} ({platform.machine()}, "
            f"kernel {platform.release()}) with `{' '.join(argv) or 'make chaos'}`.\n\n"
            + "\n".join(p.read_text().rstrip() + "\n" for p in tables) + "\n" + END)  # a blank line ends each table
    head, rest = doc.split(BEGIN, 1)
    DOC.write_text(head + body + rest.split(END, 1)[1])
    print(f"{DOC}: {len(tables)} table(s) written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
