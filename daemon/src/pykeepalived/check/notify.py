"""Health-check notifications: notify_up / notify_down / quorum scripts, the notify fifo, smtp_alert.

Fifo lines are keepalived's (check_notify / format_vs / format_rs)::

    RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 UP
    VS [192.168.201.15]:tcp:80 DOWN
    VS FWM 3 UP              (fwmark service)
    VS [groupname]:0 UP      (virtual_server_group)

Addresses are always bracketed, IPv4 too.  Each line is one write() (atomic
under PIPE_BUF); a full fifo drops the line and counts it rather than block.
"""

from __future__ import annotations

import logging

from ..config.model_lvs import RealServer, VirtualServer, effective
from ..config.model_vrrp import Script
from ..services.fifo import Fifo, FifoScripts
from ..services.notify import Notifier
from ..services.smtp import Mailer, rs_alert, vs_alert

log = logging.getLogger(__name__)


def format_vs(vs: VirtualServer) -> str:
    """keepalived's format_vs()."""
    if vs.group is not None:
        return f"[{vs.group}]:{vs.port or 0}"
    if vs.fwmark is not None:
        return f"FWM {vs.fwmark}"
    return f"[{vs.ip}]:{vs.protocol.lower()}:{vs.port or 0}"


def format_rs(rs: RealServer, vs: VirtualServer) -> str:
    """keepalived's format_rs(): the real server as an address:protocol:port trio."""
    return f"[{rs.ip}]:{vs.protocol.lower()}:{rs.port or 0}"


def rs_line(vs: VirtualServer, rs: RealServer, up: bool) -> str:
    return f"RS {format_rs(rs, vs)} {format_vs(vs)} {'UP' if up else 'DOWN'}\n"


def vs_line(vs: VirtualServer, up: bool) -> str:
    return f"VS {format_vs(vs)} {'UP' if up else 'DOWN'}\n"


class CheckNotifier:
    """Turns real-server and virtual-server transitions into scripts, fifo lines and mails.

    Mails follow keepalived: the real server's (or virtual server's) own
    ``smtp_alert`` wins, else global_defs' smtp_alert_checker, else smtp_alert; none while stopping.
    """

    def __init__(self, fifo_paths: tuple[str, ...] = (), scripts: Notifier | None = None,
                 mailer: Mailer | None = None, fifo_scripts: dict[str, Script] | None = None) -> None:
        self.scripts = scripts or Notifier()
        self.mailer = mailer
        self.fifos: list[Fifo] = []
        for path in fifo_paths:
            try:
                self.fifos.append(Fifo(path))
            except OSError as err:
                log.error("notify fifo %s: %s", path, err)
        self.fifo_scripts = fifo_scripts or {}  # lvs_notify_fifo_script, by its fifo's path
        self.readers = FifoScripts()

    async def start_fifo_scripts(self) -> None:
        """Each fifo's script, with its path as the last argument (keepalived's fifo scripts)."""
        for fifo in self.fifos:
            sc = self.fifo_scripts.get(fifo.path)
            if sc is not None:
                await self.readers.start(sc, fifo.path)

    def _write(self, line: str) -> None:
        for fifo in self.fifos:
            fifo.write(line)

    def rs_changed(self, vs: VirtualServer, rs: RealServer, up: bool, stopping: bool = False,
                   mail: bool = True) -> None:
        """notify_up / notify_down (run as written, no shell), the RS fifo line, the mail
        (``mail`` False: rs_init_notifies' start-up notify, which keepalived does not mail)."""
        script = rs.notify_up if up else rs.notify_down
        if script is not None:
            self.scripts.spawn(script.argv)
        self._write(rs_line(vs, rs, up))
        m = self.mailer
        if m is not None and mail and not stopping and m.enabled(effective("smtp_alert", None, rs, vs)):
            m.send(rs_alert(m.router_id, format_rs(rs, vs), format_vs(vs), up))

    def vs_changed(self, vs: VirtualServer, up: bool, weight_sum: int = 0, stopping: bool = False) -> None:
        """quorum_up / quorum_down, the VS fifo line, the mail (the LB plane decides quorum)."""
        script = vs.quorum_up if up else vs.quorum_down
        if script is not None:
            self.scripts.spawn(script.argv)
        self._write(vs_line(vs, up))
        m = self.mailer
        if m is not None and not stopping and m.enabled(vs.timing.smtp_alert):
            m.send(vs_alert(m.router_id, format_vs(vs), up, vs.quorum, vs.hysteresis, weight_sum))

    async def close(self, timeout: float = 5.0) -> None:
        await self.scripts.wait_running(timeout)
        await self.readers.stop()
        for fifo in self.fifos:
            fifo.close()
        self.fifos.clear()
