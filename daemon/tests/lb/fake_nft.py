"""An ``nft`` stand-in for unit tests: it keeps our table as nft would and lists it back as nft -j would.

It understands the statements nft_render writes: maps declared (in a table
block or by ``add map``, with their elements), ``add element`` / ``delete
element`` (a key added twice or deleted when absent fails, as in nft), chains
and the ``pyk`` comments of their rules (declared in a table block, or
flushed and re-added), and a chain deleted while a verdict map still jumps to
it fails (nft: Resource busy). So a transaction that loses information or
orders its statements wrongly fails here; the real nft runs the same paths in
the lab (tests/integration/nft/) and in test_nft_kernel.py. It lists the
weight maps (``weight4``/``weight6``, and the previous layout's ``w_<svc>``)
and the rule comments, which is what parse() reads. Other tables are a
separate, untouched Table.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence

from pykeepalived.lb.nftables import NftBackend
from pykeepalived.lb.table import Table

T = "inet pykeepalived"
MAP = re.compile(r"^\s*map (\S+) \{ (?:[^{]*?elements = \{ (.*) \} |[^{]*)\}$")
CHAIN = re.compile(r"^\s*chain (\S+) \{")
RULE = re.compile(r'comment "(pyk [^"]*)"')
ELEMENTS = re.compile(r"^(?:add|delete) element \S+ \S+ (\S+) \{ (.*) \}$")


def _items(text: str | None) -> dict[str, str]:
    out = {}
    for item in (text or "").split(", "):
        if item:
            key, _, value = item.partition(" : ")
            out[key] = value
    return out


def _json_elem(name: str, key: str, value: str) -> list:
    parts = [p.strip("[]") for p in key.split(" . ")]
    if name in ("weight4", "weight6"):
        return [{"concat": [int(parts[0]), parts[1], int(parts[2])]}, int(value)]
    if name.startswith("w_"):
        return [{"concat": [parts[0], int(parts[1])]}, int(value)]
    return [key, value]


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
                entry["elem"] = [_json_elem(name, k, v) for k, v in elems.items()]
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
                if words[1] == "chain":
                    busy = f"jump {words[4]}"
                    assert not any(busy in m.values() for m in maps.values()), line  # nft: Resource busy
                (maps if words[1] == "map" else chains).pop(words[4])
            elif (e := ELEMENTS.match(line)) is not None:
                elems = maps[e.group(1)]
                for key, value in _items(e.group(2)).items():
                    if words[0] == "add":
                        assert key not in elems, line  # nft: File exists
                        elems[key] = value
                    else:
                        del elems[key]
            elif line.startswith("add map"):
                m = MAP.match(line.removeprefix(f"add map {T}").replace(" ", " map ", 1))
                assert m is not None, line
                maps[m.group(1)] = {**maps.get(m.group(1), {}), **_items(m.group(2))}
            elif line.startswith(("add chain", "flush chain")):
                chains[words[4]] = []
            elif line.startswith("add rule"):
                r = RULE.search(line)
                chains[words[4]] += [r.group(1)] if r else []
            elif (m := MAP.match(line)) is not None:
                maps[m.group(1)] = {**maps.get(m.group(1), {}), **_items(m.group(2))}
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
        if args[:3] == ["nft", "-c", "--debug=netlink"]:  # nft_render.KEY_PROBE, encoded as nft 1.0.6 does
            return subprocess.CompletedProcess(args, 0, "key_probe pykeepalived 0\n\telement 00000001  : 010200c0 0 [end]\n", "")
        if args[0] == "conntrack":
            return subprocess.CompletedProcess(args, 0, "", "")
        raise AssertionError(args)
