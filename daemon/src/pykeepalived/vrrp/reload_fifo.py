"""global_defs ``fifo_write_vrrp_states_on_reload``: after a reload, a notify fifo line for each
sync group and instance the reload left running, with the state it is in (keepalived's
vrrp_init_state: groups first, then instances).  Changed and new instances start afresh and
write their own transitions.  keepalived 2.2.7 leaves out a master kept across the reload; the
man page says every instance, and so do we."""
from __future__ import annotations

from collections.abc import Iterable

from ..services.fifo import fifo_line
from .events import State


def state_lines(groups: Iterable, instances: Iterable) -> list[str]:
    """``groups``: GroupRunners kept; ``instances``: Instances kept (both as they run now)."""
    out = [fifo_line("GROUP", g.spec.name, g.sync.state.value.upper(), 0)
           for g in groups if g.sync.state is not State.INITIALIZE]
    out += [fifo_line("INSTANCE", i.name, i.router.state.value.upper(), i.router.priority)
            for i in instances if i.router is not None and i.router.state is not State.INITIALIZE]
    return out
