"""A load-balancing :data:`Table` as nftables transactions, and back (pure).

The daemon owns ``table inet pykeepalived`` and nothing else; other tables
are never named. Every change is one ``nft -f -`` transaction, so the kernel
switches from the old rules to the new ones at once. NAT decisions are taken
for the first packet of a connection only: conntrack keeps established
connections on the real server they were given, whatever the rules say
later, so weight 0 drains as it does in IPVS.

Layout (one chain and one weight map per service):

    map w_<svc>    { type ipv4_addr . inet_service : mark; elements = { A . 80 : 3, B . 80 : 2, C . 80 : 0 } }
    chain s_<svc>  {
        [persistence]  dnat ip addr . port to ip saddr map @p_<svc>_...
        dnat ip addr . port to numgen inc mod 5 map { 0-2 : A . 80, 3-4 : B . 80 }
                                            comment "pyk 4 TCP 192.0.2.80 80 0 wrr 0 0 32"
    }
    chain prerouting { type nat hook prerouting ...; <match> jump s_<svc>  (one per service) }
    chain forward    { type filter hook forward ...; persistence learning rules }

:func:`render` writes the whole table (start, adopt, recovery after a
failed transaction). :func:`update` writes only what a change touches:
that service's ``w_<svc>`` declared again with its elements (deleted and
added in the transaction) for weights, drains and added or removed real
servers, a flush and rewrite of that service's own chain
``s_<svc>`` (its slots follow the weights), and ``prerouting`` only when
services come or go. Its cost follows the change, not the table.

- rr: one slot per live real server; wrr: ``weight`` slots each (numgen inc);
  sh / dh: ``jhash`` of the source / destination address over weighted slots;
  mh: a Maglev table (251 slots) over ``jhash`` of the source: consistent
  hashing, a removed server only moves its own clients.
  The hash seed is fixed, so a reconcile does not reshuffle sh/dh/mh clients.
- persistence_timeout: a dynamic map ``p_<svc>_<timeout>_<mask>_<live set>``
  (client address, masked by persistence_granularity -> real server), filled
  by the ``filter forward`` chain on each new DNATed connection and looked up
  before scheduling. Its name carries the live set, so a change of live
  servers (failure, drain) starts it afresh and a persisted client never
  lands on a dead or drained server.
- Weights of every destination (also weight 0, inhibited or drained) are kept
  in ``map w_<svc>`` and the service's attributes in the scheduling rule's
  comment: that is what :func:`parse` reads back for the reconciler.

Only NAT is expressible (DNAT; the real servers route replies back through
the balancer, as IPVS NAT needs); select.py refuses DR/TUN, thresholds and
schedulers not listed in :data:`SCHEDULERS` before anything is rendered.
"""

from __future__ import annotations

import ipaddress
import re
import zlib
from collections.abc import Iterable, Sequence

from .table import Dest, Service, ServiceKey, ServiceSpec, Table, norm_addr

FAMILY, NAME = "inet", "pykeepalived"
TABLE = f"{FAMILY} {NAME}"
SCHEDULERS = ("rr", "wrr", "sh", "dh", "mh")
SEED = 0x70796B61  # fixed: a random per-rule seed would move sh/dh clients on every reconcile
MH_SIZE = 251  # prime, as Maglev wants; IPVS uses 65537, which would make a 65537-entry map
TAG = "pyk"


def kname(key: ServiceKey) -> str:
    raw = f"fwm{key.af}_{key.fwmark}" if key.fwmark else f"{key.protocol}_{key.addr}_{key.port}"
    return re.sub(r"[^0-9A-Za-z]", "_", raw).lower()


def comment(spec: ServiceSpec) -> str:
    k = spec.key
    return " ".join(str(x) for x in (TAG, k.af, k.protocol or "-", k.addr or "-", k.port, k.fwmark,
                                     spec.sched, int(spec.persistent), spec.timeout, spec.netmask))


def parse_comment(text: str) -> ServiceSpec | None:
    parts = text.split()
    if len(parts) != 10 or parts[0] != TAG:
        return None
    _, af, proto, addr, port, mark, sched, pers, timeout, netmask = parts
    key = ServiceKey(int(af), "" if proto == "-" else proto, "" if addr == "-" else addr, int(port), int(mark))
    return ServiceSpec(key, sched, pers == "1", int(timeout), int(netmask))


def live(svc: Service) -> list[Dest]:
    return [d for d in svc.dests.values() if d.weight > 0]


def maglev(names: Sequence[str], size: int = MH_SIZE) -> list[int]:
    """Maglev lookup table (Eisenbud et al., NSDI 2016, Pseudocode 1): slot -> index in ``names``."""
    if not names:
        return []
    perms = []
    for n in names:
        offset = zlib.crc32(b"o" + n.encode()) % size
        skip = zlib.crc32(b"s" + n.encode()) % (size - 1) + 1
        perms.append((offset, skip))
    table = [-1] * size
    nxt = [0] * len(names)
    filled = 0
    while True:
        for i, (offset, skip) in enumerate(perms):
            while True:
                c = (offset + nxt[i] * skip) % size
                nxt[i] += 1
                if table[c] < 0:
                    break
            table[c] = i
            filled += 1
            if filled == size:
                return table


def slots(svc: Service) -> tuple[int, list[tuple[int, int, Dest]]]:
    """(modulus, [(first, last, dest)]) for the live destinations, in a stable order."""
    dests = sorted(live(svc), key=lambda d: (d.addr, d.port))
    sched = svc.spec.sched
    if sched == "mh":
        table = maglev([str(d) for d in dests])
        runs: list[tuple[int, int, Dest]] = []
        for i, idx in enumerate(table):
            if runs and runs[-1][2] is dests[idx] and runs[-1][1] == i - 1:
                runs[-1] = (runs[-1][0], i, dests[idx])
            else:
                runs.append((i, i, dests[idx]))
        return len(table), runs
    out, n = [], 0
    for d in dests:
        w = 1 if sched == "rr" else d.weight
        out.append((n, n + w - 1, d))
        n += w
    return n, out


def _ip(af: int) -> str:
    return "ip6" if af == 6 else "ip"


def _addr(af: int, addr: str) -> str:
    return f"[{addr}]" if af == 6 else addr


def _uses_ports(svc: Service) -> bool:
    return svc.key.fwmark == 0 and svc.key.port != 0 or any(d.port for d in svc.dests.values())


def _target(svc: Service, d: Dest) -> str:
    return f"{_addr(svc.key.af, d.addr)} . {d.port}" if _uses_ports(svc) else _addr(svc.key.af, d.addr)


def _match(key: ServiceKey) -> str:
    if key.fwmark:
        return f"meta mark {key.fwmark} meta nfproto {'ipv6' if key.af == 6 else 'ipv4'} meta l4proto {{ tcp, udp, sctp }}"
    proto = key.protocol.lower()
    port = f"{proto} dport {key.port}" if key.port else f"meta l4proto {proto}"
    return f"{_ip(key.af)} daddr {key.addr} {port}"


def _client(spec: ServiceSpec) -> str:
    full = 128 if spec.key.af == 6 else 32
    if spec.netmask >= full:
        return f"{_ip(spec.key.af)} saddr"
    mask = ipaddress.ip_network(f"{'::' if spec.key.af == 6 else '0.0.0.0'}/{spec.netmask}").netmask
    return f"{_ip(spec.key.af)} saddr & {mask}"


def _dnat(svc: Service) -> str:
    return f"dnat {_ip(svc.key.af)} addr . port to" if _uses_ports(svc) else f"dnat {_ip(svc.key.af)} to"


def _types(svc: Service) -> tuple[str, str]:
    addr = "ipv6_addr" if svc.key.af == 6 else "ipv4_addr"
    return addr, f"{addr} . inet_service" if _uses_ports(svc) else addr


def persist_name(svc: Service) -> str:
    ids = ",".join(sorted(str(d) for d in live(svc)))
    return f"p_{kname(svc.key)}_{svc.spec.timeout}_{svc.spec.netmask}_{zlib.crc32(ids.encode()):08x}"


def _persist(svc: Service) -> tuple[list[str], list[str], list[str]]:
    spec = svc.spec
    if not spec.persistent or not live(svc):
        return [], [], []
    name = persist_name(svc)
    addr, target = _types(svc)
    decl = (f"map {name} {{ type {addr} : {target}; flags dynamic,timeout; "
            f"timeout {max(spec.timeout, 1)}s; size 65535; }}")
    lookup = f"{_match(spec.key)} {_dnat(svc)} {_client(spec)} map @{name}"
    k = spec.key
    if k.fwmark:
        orig = f"meta mark {k.fwmark} meta nfproto {'ipv6' if k.af == 6 else 'ipv4'} meta l4proto {{ tcp, udp, sctp }}"
    else:
        orig = f"meta l4proto {k.protocol.lower()} ct original {_ip(k.af)} daddr {k.addr}"
        if k.port:
            orig += f" ct original proto-dst {k.port}"
    value = f"{_ip(k.af)} daddr . th dport" if _uses_ports(svc) else f"{_ip(k.af)} daddr"
    learn = f"ct state new ct status dnat {orig} update @{name} {{ {_client(spec)} : {value} }}"
    return [decl], [lookup], [learn]


def _weights(svc: Service) -> str:
    addr = "ipv6_addr" if svc.key.af == 6 else "ipv4_addr"
    elems = ", ".join(f"{_addr(svc.key.af, d.addr)} . {d.port} : {d.weight}"
                      for d in sorted(svc.dests.values(), key=lambda d: (d.addr, d.port)))
    body = f" elements = {{ {elems} }}" if elems else ""
    return f"map w_{kname(svc.key)} {{ type {addr} . inet_service : mark;{body} }}"


def chain(key: ServiceKey) -> str:
    return f"s_{kname(key)}"


def dispatch(key: ServiceKey) -> str:
    """The prerouting rule that sends a service's packets to its own chain."""
    return f"{_match(key)} jump {chain(key)}"


def service_rules(svc: Service) -> list[str]:
    """The rules of chain ``s_<svc>``: persistence lookup, then scheduling (its comment is the spec)."""
    _, rules, _ = _persist(svc)
    mod, runs = slots(svc)
    tag = f'comment "{comment(svc.spec)}"'
    if not runs:
        return [*rules, f"{_match(svc.key)} counter {tag}"]  # no live server: nothing to DNAT to
    elems = ", ".join((f"{a}" if a == b else f"{a}-{b}") + f" : {_target(svc, d)}" for a, b, d in runs)
    k = svc.key
    sched = svc.spec.sched
    if sched in ("rr", "wrr"):
        expr = f"numgen inc mod {mod}"
    else:
        field = "daddr" if sched == "dh" else "saddr"
        expr = f"jhash {_ip(k.af)} {field} mod {mod} seed {SEED:#x}"
    # the match again: nft wants the transport protocol matched in the rule that maps ports
    return [*rules, f"{_match(k)} {_dnat(svc)} {expr} map {{ {elems} }} {tag}"]


def _learn(table: Table) -> list[str]:
    return [r for key in sorted(table) for r in _persist(table[key])[2]]


def render(table: Table, existing_maps: Iterable[str] = (), existing_chains: Iterable[str] = ()) -> str:
    """The whole transaction: our table afterwards holds exactly ``table`` (start, adopt, recovery).

    ``existing_maps`` (from the last listing) are deleted unless they are
    persistence maps still wanted with the same definition (their elements,
    the clients' stickiness, survive); ``existing_chains`` no longer wanted
    are deleted.
    """
    maps: list[str] = []
    chains: list[str] = []
    for key in sorted(table):
        svc = table[key]
        maps += [_weights(svc), *_persist(svc)[0]]
        chains.append(f"\tchain {chain(key)} {{")
        chains += [f"\t\t{r}" for r in service_rules(svc)]
        chains.append("\t}")
    keep = {m.split()[1] for m in maps if m.startswith("map p_")}
    wanted = {chain(k) for k in table}
    lines = [f"add table {TABLE}", f"flush table {TABLE}"]
    lines += [f"delete map {TABLE} {name}" for name in sorted(set(existing_maps)) if name not in keep]
    lines += [f"delete chain {TABLE} {name}" for name in sorted(set(existing_chains))
              if name.startswith("s_") and name not in wanted]
    lines.append(f"table {TABLE} {{")
    lines += [f"\t{m}" for m in maps]
    lines += chains
    lines.append("\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;")
    lines += [f"\t\t{dispatch(k)}" for k in sorted(table)]
    lines.append("\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;")
    lines += [f"\t\t{r}" for r in _learn(table)]
    lines.append("\t}\n}")
    return "\n".join(lines) + "\n"


def _pmap(svc: Service | None) -> str | None:
    decl = _persist(svc)[0] if svc is not None else []
    return decl[0] if decl else None


def update(old: Table, new: Table, touched: Iterable[ServiceKey]) -> str:
    """A transaction from ``old`` to ``new`` that only names the ``touched`` services (pure).

    Weights are map elements (``delete element`` / ``add element`` on
    ``w_<svc>``); a service's scheduling rule lives in its own chain, flushed
    and rewritten when its live set or weights change; ``prerouting`` (one
    jump per service) is rewritten only when services come or go, and
    ``forward`` (persistence learning) only when a persistence map changes.
    Returns "" when nothing differs. Objects are created first and deleted
    last, so every reference in between resolves.
    """
    t = TABLE
    head: list[str] = []
    elems: list[str] = []
    rules: list[str] = []
    tail: list[str] = []
    pre = fwd = False
    for key in sorted(set(touched)):
        o, n = old.get(key), new.get(key)
        if o == n:
            continue
        name = kname(key)
        op_, np_ = _pmap(o), _pmap(n)
        if op_ != np_:
            fwd = True
            if np_ is not None:
                head.append(f"add map {t} {np_.removeprefix('map ')}")
            if op_ is not None:
                tail.append(f"delete map {t} {op_.split()[1]}")
        if n is None:
            pre = True
            tail[:0] = [f"flush chain {t} {chain(key)}", f"delete chain {t} {chain(key)}", f"delete map {t} w_{name}"]
            continue
        weights = f"add map {t} {_weights(n).removeprefix('map ')}"
        if o is None:
            pre = True
            head += [weights, f"add chain {t} {chain(key)}"]
        elif {k: d.weight for k, d in o.dests.items()} != {k: d.weight for k, d in n.dests.items()}:
            # the service's map replaced whole: nft loads every set's elements first for an element
            # update (1.7 s at 2,000 x 20), not for a map declared with its elements (~30 ms)
            elems += [f"delete map {t} w_{name}", weights]
        want = service_rules(n)
        if o is None or service_rules(o) != want:
            if o is not None:
                rules.append(f"flush chain {t} {chain(key)}")
            rules += [f"add rule {t} {chain(key)} {r}" for r in want]
    if pre:
        rules.append(f"flush chain {t} prerouting")
        rules += [f"add rule {t} prerouting {dispatch(k)}" for k in sorted(new)]
    if fwd:
        rules.append(f"flush chain {t} forward")
        rules += [f"add rule {t} forward {r}" for r in _learn(new)]
    lines = head + elems + rules + tail
    return "\n".join(lines) + "\n" if lines else ""


def parse(doc: dict) -> tuple[Table, list[str]]:
    """``nft -j list table inet pykeepalived`` -> (our Table, the names of our maps and chains)."""
    weights: dict[str, list[tuple[str, int, int]]] = {}
    specs: list[ServiceSpec] = []
    names: list[str] = []
    for obj in doc.get("nftables", []):
        if "map" in obj:
            m = obj["map"]
            names.append(m["name"])
            if m["name"].startswith("w_"):
                rows = []
                for key, weight in m.get("elem", []):
                    addr, port = key["concat"]
                    rows.append((addr, int(port), int(weight)))
                weights[m["name"]] = rows
        elif "chain" in obj:
            names.append(obj["chain"]["name"])
        elif "rule" in obj:
            spec = parse_comment(obj["rule"].get("comment", ""))
            if spec is not None:
                specs.append(spec)
    table: Table = {}
    for spec in specs:
        svc = Service(spec)
        for addr, port, w in weights.get(f"w_{kname(spec.key)}", []):
            d = Dest(norm_addr(addr), port, "NAT", w)
            svc.dests[d.key] = d
        table[spec.key] = svc
    return table, names
