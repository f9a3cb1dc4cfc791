"""An ``nft`` stand-in for unit tests: it keeps our table as nft would and lists it back as nft -j would.

It understands exactly the statements nft_render writes that parse() needs:
the ``w_`` weight maps (declared with elements, also by ``add map``, or changed by add/delete
element) and the ``pyk`` rule comments of each chain (declared in a table
block, or flushed and re-added), so a transaction that loses information
fails here; the real nft runs the same paths in the lab
(tests/integration/nft/). Other tables are a separate, untouched Table.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence

from pykeepalived.lb.nftables import NftBackend
from pykeepalived.lb.table import Table

T = "inet pykeepalived"
MAP = re.compile(r"^\s*map (\S+) \{ type [^;]*;(?: elements = \{ (.*?) \})?")
CHAIN = re.compile(r"^\s*chain (\S+) \{")
RULE = re.compile(r'comment "(pyk [^"]*)"')
ELEM = re.compile(r"\[?([0-9a-f.:]+)\]? \. (\d+)(?: : (\d+))?")


class FakeNft(NftBackend):
    def __init__(self, others: Table | None = None) -> None:
        super().__init__()
        self.script_text: str | None = None  # the last transaction; None: our table does not exist
        self.state: tuple[dict[str, dict], dict[str, list[str]]] | None = None  # (maps, chains)
        self.others: Table = others or {}  # "other tables": never named by us
        self.transactions = 0

    def _listing(self) -> dict:
        objs: list[dict] = [{"table": {"family": "inet", "name": "pykeepalived"}}]
        maps, chains = self.state or ({}, {})
        for name, elems in maps.items():
            entry: dict = {"name": name}
            if elems:
                entry["elem"] = [[{"concat": [a, int(p)]}, w] for (a, p), w in elems.items()]
            objs.append({"map": entry})
        for name, rules in chains.items():
            objs.append({"chain": {"name": name}})
            objs += [{"rule": {"comment": c}} for c in rules]
        return {"nftables": objs}

    def _transaction(self, text: str) -> None:
        maps, chains = self.state or ({}, {})
        maps, chains = {k: dict(v) for k, v in maps.items()}, {k: list(v) for k, v in chains.items()}
        current = None
        for line in text.splitlines():
            words = line.split()
            if line == f"flush table {T}":
                chains = {k: [] for k in chains}
            elif line.startswith(("delete map", "delete chain")):
                assert words[4] in (maps if words[1] == "map" else chains), line  # nft: No such file
                (maps if words[1] == "map" else chains).pop(words[4])
            elif line.startswith(("add element", "delete element")):
                elems = maps[words[4]]
                for a, p, w in ELEM.findall(line.split("{", 1)[1]):
                    key = (a, int(p))
                    if words[0] == "add":
                        assert key not in elems, line  # nft: File exists
                        elems[key] = int(w)
                    else:
                        del elems[key]
            elif line.startswith("add map"):  # with elements: a map declared whole (after its delete)
                body = line.split("elements = ", 1)
                elems = {(a, int(p)): int(w) for a, p, w in ELEM.findall(body[1])} if len(body) == 2 else {}
                maps[words[4]] = {**maps.get(words[4], {}), **elems}
            elif line.startswith(("add chain", "flush chain")):
                chains[words[4]] = []
            elif line.startswith("add rule"):
                r = RULE.search(line)
                chains[words[4]] += [r.group(1)] if r else []
            elif (m := MAP.match(line)) is not None:
                maps[m.group(1)] = {(a, int(p)): int(w) for a, p, w in ELEM.findall(m.group(2) or "")}
            elif (m := CHAIN.match(line)) is not None:
                current = chains.setdefault(m.group(1), [])
            elif (r := RULE.search(line)) is not None and current is not None:
                current.append(r.group(1))
        self.state = (maps, chains)

    def _run(self, args: Sequence[str], text: str | None = None) -> subprocess.CompletedProcess:
        args = list(args)
        if args[:2] == ["nft", "-j"]:
            if self.state is None:
                return subprocess.CompletedProcess(args, 1, "", "Error: No such file or directory")
            return subprocess.CompletedProcess(args, 0, json.dumps(self._listing()), "")
        if args == ["nft", "-f", "-"]:
            assert text is not None
            self.transactions += 1
            if "delete table" in text:
                self.script_text = self.state = None
                return subprocess.CompletedProcess(args, 0, "", "")
            try:
                self._transaction(text)
            except (AssertionError, KeyError) as exc:
                return subprocess.CompletedProcess(args, 1, "", f"Error: {exc}")
            self.script_text = text
            return subprocess.CompletedProcess(args, 0, "", "")
        if args[0] == "conntrack":
            return subprocess.CompletedProcess(args, 0, "", "")
        raise AssertionError(args)
