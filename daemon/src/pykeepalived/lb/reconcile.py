"""Diff a desired table against an actual one: the smallest list of operations (pure).

- Services are only deleted when ``owned`` says we created (or adopted) them:
  foreign services on the same kernel are never touched.
- A desired service that already exists is adopted: its settable attributes
  (scheduler, persistence, netmask) are fixed with one "set", its
  destinations are reconciled like ours (foreign destinations in it go).
- A destination whose weight, thresholds or forwarding method differ gets one
  "set": the kernel's IP_VS_CMD_SET_DEST rewrites the forwarding method in
  place (checked in the UML kernel: NAT -> DR by set), so del+add is never needed.
- Order: service deletions, then per service: service add/set, dest
  deletions, dest sets, dest additions. Deleting first frees nothing in IPVS
  but keeps a half-applied list from briefly doubling a server's share.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from .table import LOCAL, Dest, Op, Service, ServiceKey, Table


def same_dest(want: Dest, have: Dest) -> bool:
    if have.method == LOCAL:  # the kernel says LOCAL for its own addresses, whatever we asked
        have = replace(have, method=want.method)
    return want == have


def _dest_ops(want: Service, have: Service | None) -> list[Op]:
    spec = want.spec
    current = have.dests if have is not None else {}
    ops = [Op("del", spec, d) for k, d in current.items() if k not in want.dests]
    for k, d in want.dests.items():
        old = current.get(k)
        if old is not None and not same_dest(d, old):
            ops.append(Op("set", spec, d))
    ops += [Op("add", spec, d) for k, d in want.dests.items() if k not in current]
    return ops


def reconcile(desired: Table, actual: Table, owned: Iterable[ServiceKey] = ()) -> list[Op]:
    owned = set(owned)
    ops = [Op("del", actual[k].spec) for k in sorted(actual) if k in owned and k not in desired]
    for key, want in desired.items():
        have = actual.get(key)
        if have is None:
            ops.append(Op("add", want.spec))
        elif have.spec != want.spec:
            ops.append(Op("set", want.spec))
        ops += _dest_ops(want, have)
    return ops


def apply_ops(table: Table, ops: Iterable[Op]) -> Table:
    """What ``table`` becomes after ``ops`` (for tests and the memory backend); strict like the kernel."""
    out = {k: Service(s.spec, dict(s.dests)) for k, s in table.items()}
    for op in ops:
        apply_op(out, op)
    return out


def apply_op(out: Table, op: Op) -> None:
    """Apply one op to ``out`` in place (its services are the caller's own copies).

    Raises KeyError, leaving ``out`` unchanged, when the kernel would refuse the op.
    """
    key = op.service.key
    if op.dest is None:
        if (op.action == "add") == (key in out):
            raise KeyError(f"{op}: service {'exists' if key in out else 'missing'}")
        if op.action == "add":
            out[key] = Service(op.service)
        elif op.action == "set":
            out[key].spec = op.service
        else:
            del out[key]
        return
    svc = out.get(key)
    if svc is None:
        raise KeyError(f"{op}: no such service")
    present = op.dest.key in svc.dests
    if (op.action == "add") == present:
        raise KeyError(f"{op}: dest {'exists' if present else 'missing'}")
    if op.action == "del":
        del svc.dests[op.dest.key]
    else:
        svc.dests[op.dest.key] = op.dest
