"""Which data plane the daemon drives: ``global_defs { lb_backend ipvs|nftables|auto }``.

``lb_backend`` is pykeepalived's own keyword (keepalived has no such choice).
auto (the default) means IPVS when the kernel has it, else nftables.

nftables cannot express every IPVS feature. What it cannot do is refused
here, once, with the virtual server's file:line:col, before anything touches
the kernel; nothing is ever silently replaced by something close:
- schedulers other than rr, wrr, sh, dh, mh (lc, wlc, lblc, lblcr, sed, nq,
  fo, ovf, twos need per-destination connection counts at scheduling time);
- forwarding methods other than NAT (DR and TUN), on the virtual server or a
  real server;
- uthreshold / lthreshold (connection limits per real server);
- ops (one-packet scheduling) and the scheduler flags (flag-1..3, sh-port,
  sh-fallback, mh-port, mh-fallback);
- global_defs lvs_timeouts (IPVS' own timeouts; conntrack's are sysctls).

    backend = select_backend(config, kernel_has_ipvs())
    if isinstance(backend, list):    # errors: FILE:LINE:COL: error: MESSAGE
        ...
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config.model import Config
from ..config.model_lvs import VirtualServer
from ..net.ipvs_syncd import Netlink
from .backend import Backend
from .nft_render import SCHEDULERS


def kernel_has_ipvs() -> bool:
    """True when IPVS answers in this network namespace: the kernel knows the generic netlink
    family "IPVS" (asking for it loads ip_vs where modules load on demand).  One request and its
    answer on a plain socket, so the loop's coroutines may call it."""
    try:
        Netlink().close()
    except OSError:  # no such family (ENOENT), or no generic netlink at all
        return False
    return True


def backend_name(config: Config, has_ipvs: bool) -> str:
    choice = config.global_defs.lb_backend or "auto"
    if choice == "auto":
        return "ipvs" if has_ipvs else "nftables"
    return choice


# Why nftables does NAT only (docs/load-balancing.md, "DR and TUN on nftables").
NOT_NAT = {
    "DR": "it does NAT only: a DR rewrite of the destination MAC (fwd) exists only in the netdev "
          "ingress hook, before conntrack, so established connections could not be kept on their server",
    "TUN": "it does NAT only: it has no IP-in-IP encapsulation",
}


def _why(choice: str) -> str:
    return "lb_backend nftables" if choice == "nftables" else "lb_backend auto, and the kernel has no IPVS"


def nftables_errors(config: Config, why: str = "lb_backend nftables") -> list[str]:
    """What the nftables backend cannot express, one line per problem (FILE:LINE:COL: error: ...)."""
    out: list[str] = []

    def err(vs: VirtualServer, where, what: str, hint: str) -> None:
        out.append(f"{where}: error: virtual_server {vs.name}: {what} cannot be expressed by the nftables "
                   f"backend ({why}); {hint}")

    if config.global_defs.lvs_timeouts is not None:
        where = config.global_defs.locs.get("lvs_timeouts", config.global_defs.loc)
        out.append(f"{where}: error: lvs_timeouts cannot be expressed by the nftables backend ({why}): they are "
                   "IPVS' own connection timeouts; the nftables plane's connections are conntrack's, whose "
                   "timeouts are the kernel's nf_conntrack sysctls, not pykeepalived's; remove it, or use "
                   "lb_backend ipvs")
    for vs in config.virtual_servers:
        if vs.lvs_sched not in SCHEDULERS:
            err(vs, vs.locs.get("lvs_sched", vs.loc), f"lb_algo {vs.lvs_sched}",
                f"use one of {', '.join(SCHEDULERS)}, or lb_backend ipvs")
        if vs.lvs_method != "NAT":
            err(vs, vs.locs.get("lvs_method", vs.loc), f"lb_kind {vs.lvs_method}",
                f"{NOT_NAT[vs.lvs_method]}; use lb_kind NAT, or lb_backend ipvs")
        ss = vs.sorry_server
        if ss is not None and ss.lvs_method not in (None, "NAT"):
            err(vs, vs.locs.get("sorry_server_lvs_method", ss.loc), f"sorry_server_lvs_method {ss.lvs_method}",
                f"{NOT_NAT[ss.lvs_method]}; use NAT, or lb_backend ipvs")
        if vs.sched_flags:
            err(vs, vs.locs.get("sched_flags", vs.loc), "scheduler flags " + " ".join(vs.sched_flags),
                "remove them, or use lb_backend ipvs")
        if vs.persistence_engine is not None:
            err(vs, vs.locs["persistence_engine"], f"persistence_engine {vs.persistence_engine}",
                "remove it, or use lb_backend ipvs")
        if vs.ops:
            err(vs, vs.locs.get("ops", vs.loc), "ops", "remove it, or use lb_backend ipvs")
        for rs in vs.real_servers:
            if rs.lvs_method not in (None, "NAT"):
                err(vs, rs.locs.get("lvs_method", rs.loc), f"real_server {rs.ip}: lb_kind {rs.lvs_method}",
                    f"{NOT_NAT[rs.lvs_method]}; use lb_kind NAT, or lb_backend ipvs")
            for kw in ("uthreshold", "lthreshold"):
                if getattr(rs, kw):
                    err(vs, rs.locs.get(kw, rs.loc), f"real_server {rs.ip}: {kw}",
                        "remove it, or use lb_backend ipvs")
    return out


def backend_errors(config: Config, kernel_has_ipvs: bool) -> list[str]:
    """Why the backend ``lb_backend`` chooses on this kernel cannot run the config (empty: it can)."""
    choice = config.global_defs.lb_backend or "auto"
    if backend_name(config, kernel_has_ipvs) == "ipvs":
        return [] if kernel_has_ipvs else [
            "error: lb_backend ipvs: the kernel has no IPVS (ip_vs module); use lb_backend nftables or auto"]
    return nftables_errors(config, _why(choice))


def select_backend(config: Config, kernel_has_ipvs: bool, *, nft_prefix: Sequence[str] = ()
                   ) -> Backend | list[str]:
    """The backend to drive, or the config errors that forbid the chosen one."""
    errors = backend_errors(config, kernel_has_ipvs)
    if errors:
        return errors
    if backend_name(config, kernel_has_ipvs) == "ipvs":
        from .ipvs import IpvsBackend

        return IpvsBackend()
    from .nftables import NftBackend

    return NftBackend(prefix=nft_prefix)
