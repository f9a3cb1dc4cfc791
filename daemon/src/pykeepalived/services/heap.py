"""Keep the long-lived heap out of the cyclic garbage collector's way.

What a daemon builds at startup (modules, the config model, instances,
sockets) lives until exit or the next reload, yet every full collection
walks all of it, and so does the one Python runs at exit: ~5-8 ms of CPU
per process, measured in the failover lab, just when a stopping master's
backup is due to take over (Skew_Time after the priority-0 advert, 61 ms at
advert_int 0.1 s).  ``gc.freeze`` moves those objects to a generation no
collection visits; ``settle`` collects first so no garbage is frozen.

After a reload ``settle`` collects only what is not frozen (what the reload
built: proportional to the change) and freezes the survivors.  Reference
counting frees the replaced objects as before; only a replaced object in a
cycle waits, frozen, for a full settle (unfreeze, collect everything,
freeze), which comes once the frozen heap has grown to ``GROWTH`` times what
the last full one left: memory stays within that bound, and a walk of the
whole heap is paid for by at least a quarter as many objects built since
(each object built is walked about four times, amortized).  A full
collection of a 2,000 x 20 config's heap holds the GIL ~0.8 s under load:
every reload, it starved the thread that tells the parent a busy child is
alive (core/children.py ``Busy``).
"""
from __future__ import annotations

import gc

GROWTH = 1.25  # a full settle once the frozen heap is this many times the last full one's

_last_full = [0]  # objects frozen by the last full settle


def settle(full: bool = False) -> None:
    """Collect, then freeze every object still alive (after startup, after a reload)."""
    if not full and gc.get_freeze_count():
        gc.collect()  # the frozen generation is not visited
        gc.freeze()
        if gc.get_freeze_count() <= GROWTH * _last_full[0]:
            return
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _last_full[0] = gc.get_freeze_count()
