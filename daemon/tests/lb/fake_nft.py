"""An ``nft`` stand-in for unit tests: it keeps the last transaction and lists it back as nft -j would.

It understands exactly the lines nft_render writes that parse() needs (the
``w_`` weight maps and the ``pyk`` rule comments), so a render that loses
information fails here; the real nft runs the same suite in the lab
(tests/integration/nft/). Other tables are a separate, untouched Table.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence

from pykeepalived.lb.nftables import NftBackend
from pykeepalived.lb.table import Table

MAP = re.compile(r"^\s*map (\S+) \{ type [^;]*;(?: elements = \{ (.*?) \})?")
RULE = re.compile(r'comment "(pyk [^"]*)"')
ELEM = re.compile(r"\[?([0-9a-f.:]+)\]? \. (\d+) : (\d+)")


class FakeNft(NftBackend):
    def __init__(self, others: Table | None = None) -> None:
        super().__init__()
        self.script_text: str | None = None  # None: our table does not exist
        self.others: Table = others or {}  # "other tables": never named by us
        self.transactions = 0

    def _listing(self) -> dict:
        objs: list[dict] = [{"table": {"family": "inet", "name": "pykeepalived"}}]
        for line in (self.script_text or "").splitlines():
            m = MAP.match(line)
            if m:
                entry: dict = {"name": m.group(1)}
                if m.group(2):
                    entry["elem"] = [[{"concat": [a, int(p)]}, int(w)] for a, p, w in ELEM.findall(m.group(2))]
                objs.append({"map": entry})
            r = RULE.search(line)
            if r:
                objs.append({"rule": {"comment": r.group(1)}})
        return {"nftables": objs}

    def _run(self, args: Sequence[str], text: str | None = None) -> subprocess.CompletedProcess:
        args = list(args)
        if args[:2] == ["nft", "-j"]:
            if self.script_text is None:
                return subprocess.CompletedProcess(args, 1, "", "Error: No such file or directory")
            return subprocess.CompletedProcess(args, 0, json.dumps(self._listing()), "")
        if args == ["nft", "-f", "-"]:
            assert text is not None and text.startswith("add table inet pykeepalived\n")
            self.transactions += 1
            self.script_text = None if "delete table" in text else text
            return subprocess.CompletedProcess(args, 0, "", "")
        if args[0] == "conntrack":
            return subprocess.CompletedProcess(args, 0, "", "")
        raise AssertionError(args)
