"""A load-balancing :data:`Table` as nftables transactions, and back (pure).

The daemon owns ``table inet pykeepalived`` and nothing else; other tables
are never named. Every change is one ``nft -f -`` transaction, so the kernel
switches from the old rules to the new ones at once. NAT decisions are taken
for the first packet of a connection only: conntrack keeps established
connections on the real server they were given, whatever the rules say
later, so weight 0 drains as it does in IPVS.

Layout: a fixed ``prerouting`` of six verdict-map lookups, maps shared by
the services, and one chain per service. Each service has a number ``id``
(kept in its rule's comment); its slots are the keys ``id << 16`` ..
``(id << 16) + mod - 1`` of a slot map shared by 64 ids (``SHARD``):

    map vs4          { type ipv4_addr . inet_proto . inet_service : verdict }   192.0.2.80 . tcp . 80 : jump s_<svc>
    map vs4_anyport  { type ipv4_addr . inet_proto : verdict }                  (port-0 services)
    map fwm4         { type mark : verdict }                                    (fwmark services)
    map weight4      { type mark . ipv4_addr . inet_service : mark }            1 . A . 80 : 3, 1 . C . 80 : 0
    map dnat4_tcp_0  { typeof numgen inc mod 1 : ip daddr . tcp dport }         65536 : A . 80, 65537 : A . 80, ...
         (per family, transport protocol (or ``addr``: real servers without a port) and shard; + the IPv6 twins)
    chain s_<svc>    {
        [persistence]  dnat ip addr . port to ip saddr map @p_<svc>_...
        ip daddr 192.0.2.80 tcp dport 80 dnat ip addr . port to numgen inc mod 5 offset 65536 map @dnat4_tcp_0
                                                            comment "pyk 4 TCP 192.0.2.80 80 0 wrr 0 0 32 1"
    }
    chain prerouting { type nat hook prerouting ...;
        meta nfproto ipv4 meta l4proto { tcp, udp, sctp } meta mark vmap @fwm4   (then fwm6)
        ip daddr . meta l4proto . th dport vmap @vs4                              (then vs6)
        ip daddr . meta l4proto vmap @vs4_anyport                                 (then vs6_anyport) }
    chain forward    { type filter hook forward ...; persistence learning rules }

A packet does one hash lookup per rule of ``prerouting`` whatever the number
of services; fwmark services are looked up first, then address . port, then
port-0 services, as IPVS does. A service with no live server returns from
its chain and the next lookup may still match. A fwmark service whose real
servers have ports has one scheduling rule per transport protocol.

Why so, measured with nft 1.0.6 on kernel 6.18 (issue 17): the kernel keeps a
table's sets in a list that creating a set walks (name check, anonymous
``__map%d`` numbering), so two sets per service (weights, an anonymous slot
map in the rule) made a first apply quadratic: 5.3 s at 4,000 services, more
than 30 s at 10,000. For each element added to a map the kernel checks every
rule that uses it, and a rule using a map checks its elements: one slot map
for all services was quadratic again (11 s at 10,000), hence shards of 64.
Elements are added after the rules in a full render. And nft 1.0.6 loads the
elements of every interval set in the table before an ``add element`` (0.54 s
at 4,000 services), so no map has intervals: slots are enumerated, one
element per slot (the sum of the live servers' weights; mh: 251).
nft 0.9.8 (Debian 11) writes a ``typeof numgen`` map's keys in network byte
order, the opposite of what numgen and jhash give the kernel: the backend
asks nft once how it encodes (:data:`KEY_PROBE`) and slot keys are then
written byte-swapped (:func:`slot_key`), so the kernel holds the same bytes
whichever nft wrote them.

:func:`render` writes the whole table (start, adopt, recovery after a failed
transaction, the move from an older layout). :func:`update` writes only what
a change touches: that service's elements (dispatch, slots, weights, only the
ones that differ) and a flush and rewrite of its own chain when its rule
changes; ``prerouting`` never changes after the first render. Its cost
follows the change, not the table.

- rr: one slot per live real server; wrr: ``weight`` slots each (numgen inc);
  sh / dh: ``jhash`` of the source / destination address over weighted slots;
  mh: a Maglev table (251 slots) over ``jhash`` of the source: consistent
  hashing, a removed server only moves its own clients.
  The hash seed is fixed, so a reconcile does not reshuffle sh/dh/mh clients.
  Weights summing to more than :data:`SPAN` slots are scaled down to fit.
- persistence_timeout: a dynamic map ``p_<svc>_<timeout>_<mask>_<live set>``
  (client address, masked by persistence_granularity -> real server), filled
  by the ``filter forward`` chain on each new DNATed connection and looked up
  before scheduling. Its name carries the live set, so a change of live
  servers (failure, drain) starts it afresh and a persisted client never
  lands on a dead or drained server.
- Weights of every destination (also weight 0, inhibited or drained) are kept
  in ``weight4`` / ``weight6`` and the service's attributes and id in the
  scheduling rule's comment: that is what :func:`parse` reads back for the
  reconciler. :func:`parse` also reads the previous layout (``w_<svc>`` maps,
  comments without an id), so a daemon can adopt what an older one left.

Only NAT is expressible (DNAT; the real servers route replies back through
the balancer, as IPVS NAT needs); select.py refuses DR/TUN, thresholds and
schedulers not listed in :data:`SCHEDULERS` before anything is rendered.
"""

from __future__ import annotations

import ipaddress
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence

from .table import Dest, Service, ServiceKey, ServiceSpec, Table, norm_addr

FAMILY, NAME = "inet", "pykeepalived"
TABLE = f"{FAMILY} {NAME}"
SCHEDULERS = ("rr", "wrr", "sh", "dh", "mh")
SEED = 0x70796B61  # fixed: a random per-rule seed would move sh/dh clients on every reconcile
MH_SIZE = 251  # prime, as Maglev wants; IPVS uses 65537, which would make a 65537-entry map
TAG = "pyk"
SPAN = 1 << 16  # slots per service id: keys id << 16 .. (id << 16) + mod - 1 in the 32-bit slot maps
MAX_SERVICES = 1 << 16

_L4 = "meta l4proto { tcp, udp, sctp }"
SHARED_MAPS = {
    "fwm4": "type mark : verdict", "fwm6": "type mark : verdict",
    "vs4": "type ipv4_addr . inet_proto . inet_service : verdict",
    "vs6": "type ipv6_addr . inet_proto . inet_service : verdict",
    "vs4_anyport": "type ipv4_addr . inet_proto : verdict",
    "vs6_anyport": "type ipv6_addr . inet_proto : verdict",
    "weight4": "type mark . ipv4_addr . inet_service : mark",
    "weight6": "type mark . ipv6_addr . inet_service : mark",
}
PREROUTING = (
    f"meta nfproto ipv4 {_L4} meta mark vmap @fwm4",
    f"meta nfproto ipv6 {_L4} meta mark vmap @fwm6",
    "ip daddr . meta l4proto . th dport vmap @vs4",
    "ip6 daddr . meta l4proto . th dport vmap @vs6",
    "ip daddr . meta l4proto vmap @vs4_anyport",
    "ip6 daddr . meta l4proto vmap @vs6_anyport",
)

Ids = Mapping[ServiceKey, int]
SHARD = 64  # services per slot map (dnat<af>_<proto>_<id // SHARD>)


def slot_decl(name: str) -> str:
    """The declaration of slot map ``dnat<af>_<proto or addr>_<shard>``.

    Per transport protocol: nft 1.0.6 takes a map's typeof protocol (``tcp
    dport``) into a rule that uses it once the map is loaded from the kernel,
    and refuses any other protocol there (also ``th``).
    """
    _, proto, _ = name.split("_")
    ip = "ip6" if name.startswith("dnat6") else "ip"
    return f"typeof numgen inc mod 1 : {ip} daddr" + ("" if proto == "addr" else f" . {proto} dport")


# nft 0.9.8 (Debian 11) writes the elements of a ``typeof numgen`` map in network byte order, while
# numgen and jhash give the kernel a host-order number: on a little-endian machine key 1 was stored
# as 0x01000000, slot 0 alone matched and every second rr connection went undispatched. Later nft
# (1.0.6) writes host order. Which one the running nft does is read from its own encoding of this
# probe (``nft -c --debug=netlink``: checked, never committed), and slot keys are written so the
# kernel holds host order either way.
KEY_PROBE = f"table {TABLE} {{ map key_probe {{ typeof numgen inc mod 1 : ip daddr; elements = {{ 1 : 192.0.2.1 }}; }}; }}\n"


def keys_swapped(debug: str) -> bool:
    """Whether nft's netlink debug of :data:`KEY_PROBE` shows key 1 encoded as the 32-bit word 0x01000000."""
    return re.search(r"^\s*element 01000000\b", debug, re.MULTILINE) is not None


def slot_key(n: int, swap: bool = False) -> str:
    """Slot ``n`` as written in a slot map: byte-swapped for an nft that swaps it back (:func:`keys_swapped`)."""
    return str(int.from_bytes(n.to_bytes(4, "little"), "big") if swap else n)


def kname(key: ServiceKey) -> str:
    raw = f"fwm{key.af}_{key.fwmark}" if key.fwmark else f"{key.protocol}_{key.addr}_{key.port}"
    return re.sub(r"[^0-9A-Za-z]", "_", raw).lower()


def comment(spec: ServiceSpec, sid: int | None = None) -> str:
    k = spec.key
    fields = [TAG, k.af, k.protocol or "-", k.addr or "-", k.port, k.fwmark,
              spec.sched, int(spec.persistent), spec.timeout, spec.netmask]
    return " ".join(str(x) for x in (fields if sid is None else [*fields, sid]))


def parse_tag(text: str) -> tuple[ServiceSpec, int | None] | None:
    """A rule comment -> (spec, id); id None for the previous layout's comments (no id)."""
    parts = text.split()
    if len(parts) not in (10, 11) or parts[0] != TAG:
        return None
    _, af, proto, addr, port, mark, sched, pers, timeout, netmask = parts[:10]
    key = ServiceKey(int(af), "" if proto == "-" else proto, "" if addr == "-" else addr, int(port), int(mark))
    return ServiceSpec(key, sched, pers == "1", int(timeout), int(netmask)), int(parts[10]) if len(parts) == 11 else None


def parse_comment(text: str) -> ServiceSpec | None:
    tag = parse_tag(text)
    return tag[0] if tag else None


def assign_ids(keys: Iterable[ServiceKey], known: Ids) -> dict[ServiceKey, int]:
    """Ids for ``keys``: the known ones kept, new keys (in order) given the smallest ids nobody in ``known`` has."""
    out = {k: known[k] for k in keys if k in known}
    used = set(known.values())
    free = (i for i in range(MAX_SERVICES) if i not in used)
    for k in sorted(set(keys) - out.keys()):
        out[k] = next(free)
    return out


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
    weights = [1 if sched == "rr" else d.weight for d in dests]
    total = sum(weights)
    if total > SPAN:  # one slot per weight unit would overflow the service's key window: scale down
        weights = [max(1, w * (SPAN - len(weights)) // total) for w in weights]
    out, n = [], 0
    for d, w in zip(dests, weights):
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
        return f"meta mark {key.fwmark} meta nfproto {'ipv6' if key.af == 6 else 'ipv4'} {_L4}"
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
        orig = _match(k)
    else:
        orig = f"meta l4proto {k.protocol.lower()} ct original {_ip(k.af)} daddr {k.addr}"
        if k.port:
            orig += f" ct original proto-dst {k.port}"
    value = f"{_ip(k.af)} daddr . th dport" if _uses_ports(svc) else f"{_ip(k.af)} daddr"
    learn = f"ct state new ct status dnat {orig} update @{name} {{ {_client(spec)} : {value} }}"
    return [decl], [lookup], [learn]


def chain(key: ServiceKey) -> str:
    return f"s_{kname(key)}"


def slot_maps(svc: Service, sid: int) -> list[tuple[str, str]]:
    """(slot map, the rule's match) per scheduling rule: one, or one per protocol for a fwmark service's ports.

    A service's slots are in its id's shard: the kernel checks every rule that
    uses a map (a binding) for each element added to it, so one map used by
    every service's rule made a first apply quadratic (11 s at 10,000).
    """
    k = svc.key
    shard = sid // SHARD
    if not _uses_ports(svc):
        return [(f"dnat{k.af}_addr_{shard}", _match(k))]
    if not k.fwmark:
        return [(f"dnat{k.af}_{k.protocol.lower()}_{shard}", _match(k))]
    nf = "ipv6" if k.af == 6 else "ipv4"
    return [(f"dnat{k.af}_{p}_{shard}", f"meta mark {k.fwmark} meta nfproto {nf} meta l4proto {p}")
            for p in ("tcp", "udp", "sctp")]


Elements = dict[tuple[str, str], str]  # (map, key) -> value


def dispatch(key: ServiceKey) -> Elements:
    """The verdict-map element that sends a service's packets to its own chain."""
    if key.fwmark:
        return {(f"fwm{key.af}", str(key.fwmark)): f"jump {chain(key)}"}
    proto = key.protocol.lower()
    addr = _addr(key.af, key.addr)
    if key.port:
        return {(f"vs{key.af}", f"{addr} . {proto} . {key.port}"): f"jump {chain(key)}"}
    return {(f"vs{key.af}_anyport", f"{addr} . {proto}"): f"jump {chain(key)}"}


Slots = tuple[int, list[tuple[int, int, Dest]]]


def elements(svc: Service, sid: int, sl: Slots | None = None, swap: bool = False) -> Elements:
    """Every shared-map element of one service: its dispatch, its slots and the weights of all its dests.

    ``swap``: slot keys byte-swapped (:func:`keys_swapped`).
    """
    out = dispatch(svc.key)
    base = sid * SPAN
    runs = [(a, b, _target(svc, d)) for a, b, d in (sl or slots(svc))[1]]
    for smap, _ in slot_maps(svc, sid):
        for a, b, target in runs:
            out.update({(smap, slot_key(base + i, swap)): target for i in range(a, b + 1)})
    wmap = f"weight{svc.key.af}"
    for d in sorted(svc.dests.values(), key=lambda d: (d.addr, d.port)):
        out[(wmap, f"{sid} . {_addr(svc.key.af, d.addr)} . {d.port}")] = str(d.weight)
    return out


def service_rules(svc: Service, sid: int, sl: Slots | None = None) -> list[str]:
    """The rules of chain ``s_<svc>``: persistence lookup, then scheduling (its comment is the spec and id)."""
    _, rules, _ = _persist(svc)
    mod, runs = sl or slots(svc)
    tag = f'comment "{comment(svc.spec, sid)}"'
    if not runs:
        return [*rules, f"{_match(svc.key)} counter {tag}"]  # no live server: nothing to DNAT to
    k = svc.key
    sched = svc.spec.sched
    if sched in ("rr", "wrr"):
        expr = f"numgen inc mod {mod}"
    else:
        field = "daddr" if sched == "dh" else "saddr"
        expr = f"jhash {_ip(k.af)} {field} mod {mod} seed {SEED:#x}"
    # the match again: nft wants the transport protocol matched in the rule that maps ports
    out = [f"{match} {_dnat(svc)} {expr} offset {sid * SPAN} map @{smap}" for smap, match in slot_maps(svc, sid)]
    out[-1] += f" {tag}"
    return [*rules, *out]


def _learn(table: Table) -> list[str]:
    return [r for key in sorted(table) for r in _persist(table[key])[2]]


def _by_map(elems: Elements, values: bool = True) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for (m, k), v in elems.items():
        out.setdefault(m, []).append(f"{k} : {v}" if values else k)
    return out


def render(table: Table, existing_maps: Iterable[str] = (), existing_chains: Iterable[str] = (),
           ids: Ids | None = None, swap: bool = False) -> str:
    """The whole transaction: our table afterwards holds exactly ``table`` (start, adopt, recovery).

    ``existing_maps`` (from the last listing) are deleted unless they are
    persistence maps still wanted with the same definition (their elements,
    the clients' stickiness, survive); the shared maps are declared again with
    every element; ``existing_chains`` no longer wanted are deleted (also the
    previous layout's). ``ids``: every service's id (:func:`assign_ids`);
    ``swap``: slot keys byte-swapped (:func:`keys_swapped`).
    """
    ids = assign_ids(table, {}) if ids is None else ids
    pmaps: list[str] = []
    chains: list[str] = []
    elems: Elements = {}
    for key in sorted(table):
        svc = table[key]
        pmaps += _persist(svc)[0]
        sl = slots(svc)
        elems.update(elements(svc, ids[key], sl, swap))
        chains.append(f"\tchain {chain(key)} {{")
        chains += [f"\t\t{r}" for r in service_rules(svc, ids[key], sl)]
        chains.append("\t}")
    keep = {m.split()[1] for m in pmaps}
    wanted = {chain(k) for k in table}
    lines = [f"add table {TABLE}", f"flush table {TABLE}"]
    lines += [f"delete map {TABLE} {name}" for name in sorted(set(existing_maps)) if name not in keep]
    lines += [f"delete chain {TABLE} {name}" for name in sorted(set(existing_chains))
              if name.startswith("s_") and name not in wanted]
    # maps by "add map", never inside the table block: nft 0.9.8 (Debian 11) crashes after committing a
    # file that flushes a table and then declares a map in a block (exit 139, the table written)
    lines += [f"add map {TABLE} {name} {{ {decl}; }}" for name, decl in SHARED_MAPS.items()]
    lines += [f"add map {TABLE} {name} {{ {slot_decl(name)}; }}" for name in sorted({m for m, _ in elems} - SHARED_MAPS.keys())]
    lines += [f"add map {TABLE} {m.removeprefix('map ')}" for m in pmaps]
    lines.append(f"table {TABLE} {{")
    lines += chains
    lines.append("\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;")
    lines += [f"\t\t{r}" for r in PREROUTING]
    lines.append("\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;")
    lines += [f"\t\t{r}" for r in _learn(table)]
    lines.append("\t}\n}")
    # elements last: a rule that uses a map (the kernel binds it) checks every element already in it,
    # so rules bound to full shared maps made the first apply quadratic again (4.4 s at 4,000 services)
    lines += [f"add element {TABLE} {m} {{ {', '.join(vs)} }}" for m, vs in _by_map(elems).items()]
    return "\n".join(lines) + "\n"


def _pmap(svc: Service | None) -> str | None:
    decl = _persist(svc)[0] if svc is not None else []
    return decl[0] if decl else None


def update(old: Table, new: Table, touched: Iterable[ServiceKey], ids: Ids, swap: bool = False) -> str:
    """A transaction from ``old`` to ``new`` that only names the ``touched`` services (pure).

    ``ids`` holds the id of every touched service, old or new (``swap`` as
    for :func:`render`). A service
    added or removed is its chain plus ``add element`` / ``delete element`` in
    the shared maps (dispatch, slots, weights); a change writes only the
    elements that differ and rewrites the service's own chain when its rule
    changes (modulus, persistence map); ``forward`` (persistence learning) is
    rewritten only when a persistence map changes; ``prerouting`` never.
    Returns "" when nothing differs. Objects are created first and deleted
    last, so every reference in between resolves.
    """
    t = TABLE
    head: list[str] = []
    gone: Elements = {}
    added: Elements = {}
    rules: list[str] = []
    tail: list[str] = []
    shards: set[str] = set()
    fwd = False
    for key in sorted(set(touched)):
        o, n = old.get(key), new.get(key)
        if o == n:
            continue
        sid = ids[key]
        op_, np_ = _pmap(o), _pmap(n)
        if op_ != np_:
            fwd = True
            if np_ is not None:
                head.append(f"add map {t} {np_.removeprefix('map ')}")
            if op_ is not None:
                tail.append(f"delete map {t} {op_.split()[1]}")
        before = elements(o, sid, swap=swap) if o is not None else {}
        after = elements(n, sid, swap=swap) if n is not None else {}
        gone.update({k: v for k, v in before.items() if after.get(k) != v})
        shards.update({m for m, _ in after} - {m for m, _ in before} - SHARED_MAPS.keys())
        added.update({k: v for k, v in after.items() if before.get(k) != v})
        if n is None:
            tail[:0] = [f"flush chain {t} {chain(key)}", f"delete chain {t} {chain(key)}"]
            continue
        if o is None:
            head.append(f"add chain {t} {chain(key)}")
        want = service_rules(n, sid)
        if o is None or service_rules(o, sid) != want:
            if o is not None:
                rules.append(f"flush chain {t} {chain(key)}")
            rules += [f"add rule {t} {chain(key)} {r}" for r in want]
    if fwd:
        rules.append(f"flush chain {t} forward")
        rules += [f"add rule {t} forward {r}" for r in _learn(new)]
    # elements out before in (a changed key is deleted, then added with its new value); dispatch
    # elements point at chains: added after their chain exists, deleted before it goes
    dels = [f"delete element {t} {m} {{ {', '.join(ks)} }}" for m, ks in _by_map(gone, values=False).items()]
    adds = [f"add element {t} {m} {{ {', '.join(vs)} }}" for m, vs in _by_map(added).items()]
    # a slot map shard the service had not used may be new ("add map" keeps one that exists)
    head += [f"add map {t} {m} {{ {slot_decl(m)}; }}" for m in sorted(shards)]
    lines = head + dels + adds + rules + tail
    return "\n".join(lines) + "\n" if lines else ""


def parse(doc: dict) -> tuple[Table, list[str], dict[ServiceKey, int]]:
    """``nft -j list table inet pykeepalived`` -> (our Table, the names of our maps and chains, services' ids).

    Reads this layout and the previous one (weights in ``w_<svc>``, comments
    without an id: no id is returned for those services).
    """
    by_id: dict[int, list[tuple[str, int, int]]] = {}
    by_name: dict[str, list[tuple[str, int, int]]] = {}
    tags: list[tuple[ServiceSpec, int | None]] = []
    names: list[str] = []
    for obj in doc.get("nftables", []):
        if "map" in obj:
            m = obj["map"]
            names.append(m["name"])
            if m["name"] in ("weight4", "weight6"):
                for key, weight in m.get("elem", []):
                    sid, addr, port = key["concat"]
                    by_id.setdefault(int(sid), []).append((addr, int(port), int(weight)))
            elif m["name"].startswith("w_"):
                for key, weight in m.get("elem", []):
                    addr, port = key["concat"]
                    by_name.setdefault(m["name"], []).append((addr, int(port), int(weight)))
        elif "chain" in obj:
            names.append(obj["chain"]["name"])
        elif "rule" in obj:
            tag = parse_tag(obj["rule"].get("comment", ""))
            if tag is not None:
                tags.append(tag)
    table: Table = {}
    ids: dict[ServiceKey, int] = {}
    for spec, sid in tags:
        svc = Service(spec)
        rows = by_name.get(f"w_{kname(spec.key)}", []) if sid is None else by_id.get(sid, [])
        for addr, port, w in rows:
            d = Dest(norm_addr(addr), port, "NAT", w)
            svc.dests[d.key] = d
        table[spec.key] = svc
        if sid is not None:
            ids[spec.key] = sid
    return table, names, ids


def current_layout(names: Iterable[str]) -> bool:
    """Whether a listing's map names are this layout's (else the table is from an older daemon)."""
    have = set(names)
    return all(m in have for m in SHARED_MAPS) and not any(n.startswith("w_") for n in have)
