"""Typed model of global_defs and the VRRP side (vrrp_script, vrrp_instance, ...).

Field defaults are keepalived's. ``None`` means "inherit" (from global_defs
for an instance). Locations are kept for error messages but excluded from
equality, so parse(render(model)) == model.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Union

from .errors import UNKNOWN_LOCATION, Location
from .model_syncd import LvsSyncDaemon

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPInterface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def _loc() -> Location:
    return field(default=UNKNOWN_LOCATION, compare=False, repr=False)


def _locs() -> dict[str, Location]:
    return field(default_factory=dict, compare=False, repr=False)


@dataclass
class Script:
    """A command run without a shell: argv[0] is the program."""

    argv: tuple[str, ...]
    user: str | None = None
    group: str | None = None
    loc: Location = _loc()


@dataclass(frozen=True)
class LvsTimeouts:
    """global_defs ``lvs_timeouts``: IPVS' connection timeouts in seconds (None: the kernel's)."""

    tcp: int | None = None
    tcpfin: int | None = None
    udp: int | None = None


@dataclass
class GlobalDefs:
    router_id: str | None = None
    notification_email: tuple[str, ...] = ()
    notification_email_from: str | None = None
    smtp_server: str | None = None
    smtp_port: int = 25
    smtp_connect_timeout: int = 30
    smtp_helo_name: str | None = None
    smtp_alert: bool = False
    smtp_alert_vrrp: bool | None = None  # None: smtp_alert (the VRRP side's default)
    smtp_alert_checker: bool | None = None  # None: smtp_alert (the checkers' default)
    no_email_faults: bool = False  # no alert mail for a FAULT state
    checker_log_all_failures: bool = False  # every checker's log_all_failures
    rs_init_notifies: bool = False  # notify_up (script, fifo line) for real servers up from the start
    enable_script_security: bool = False
    script_user: tuple[str, ...] = ()
    default_interface: str = "eth0"
    vrrp_version: int = 2
    vrrp_mcast_group4: ipaddress.IPv4Address = ipaddress.IPv4Address("224.0.0.18")
    vrrp_mcast_group6: ipaddress.IPv6Address = ipaddress.IPv6Address("ff02::12")
    vrrp_garp_master_delay: int = 5
    vrrp_garp_master_repeat: int = 5
    vrrp_garp_master_refresh: int = 0
    vrrp_garp_master_refresh_repeat: int = 1
    # vrrp_min_garp: one GARP/NA, no second burst, no refresh, unless those keywords are given
    vrrp_min_garp: bool = False
    vrrp_garp_lower_prio_delay: int | None = None  # None: vrrp_garp_master_delay
    vrrp_garp_lower_prio_repeat: int | None = None  # None: vrrp_garp_master_repeat
    vrrp_lower_prio_no_advert: bool = False
    vrrp_higher_prio_send_advert: bool = False
    vrrp_garp_interval: float = 0.0  # seconds between the GARPs of a burst (0: back to back)
    vrrp_gna_interval: float = 0.0  # the same for unsolicited neighbour advertisements
    vrrp_notify_priority_changes: bool = False
    vrrp_down_timer_adverts: int = 3  # the default of every instance's down_timer_adverts
    log_unknown_vrids: bool = False  # log each advert for a VRID no instance on that interface has
    vrrp_startup_delay: float = 0.0  # seconds no backup's timer runs out in after the VRRP child starts
    vrrp_skip_check_adv_addr: bool = False
    vrrp_strict: bool = False
    notify_fifo: str | None = None
    notify_fifo_script: Script | None = None
    vrrp_notify_fifo: str | None = None
    lvs_notify_fifo: str | None = None
    vrrp_notify_fifo_script: Script | None = None  # reads vrrp_notify_fifo (its path: the last argument)
    lvs_notify_fifo_script: Script | None = None  # reads lvs_notify_fifo, started by the checker child
    fifo_write_vrrp_states_on_reload: bool = False  # a reload writes the kept instances' states
    lvs_flush: bool = False
    # None: remove our services one by one at stop (keepalived's default), "VS": the same (a
    # service's deletion takes its real servers), "full": flush the whole table (lb/plane.py)
    lvs_flush_on_stop: str | None = None
    lvs_timeouts: LvsTimeouts | None = None  # set by the checker child on the IPVS plane (net/ipvs_config.py)
    # run by the process that reads the config (the parent) once: before it starts the children,
    # after they have all stopped (services/startstop.py); a timed-out script's group is killed
    # a reload is always judged before it is applied; this file gets each judgement's errors
    reload_check_config: str | None = None
    umask: int | None = None  # set by the parent at start (services/procattrs.py); None: inherited
    # process names (prctl PR_SET_NAME) at start; process_names: the children get keepalived's
    process_name: str | None = None
    vrrp_process_name: str | None = None
    checker_process_name: str | None = None
    bfd_process_name: str | None = None
    process_names: bool = False
    startup_script: Script | None = None
    startup_script_timeout: int = 10
    shutdown_script: Script | None = None
    shutdown_script_timeout: int = 10
    # scheduling of each child (services/sched.py); None/0/off/(): the kernel's defaults
    vrrp_rt_priority: int | None = None  # SCHED_RR 1..99
    checker_rt_priority: int | None = None
    vrrp_priority: int = 0  # nice -20..19
    checker_priority: int = 0
    vrrp_no_swap: bool = False  # mlockall
    checker_no_swap: bool = False
    vrrp_rlimit_rttime: int | None = None  # microseconds; None: 10000 when rt priority is set
    checker_rlimit_rttime: int | None = None
    vrrp_cpu_affinity: tuple[int, ...] = ()
    checker_cpu_affinity: tuple[int, ...] = ()
    bfd_rt_priority: int | None = None  # the BFD child's (core/children.py)
    bfd_priority: int = 0
    bfd_no_swap: bool = False
    bfd_rlimit_rttime: int | None = None
    bfd_cpu_affinity: tuple[int, ...] = ()
    lb_backend: str = "auto"  # pykeepalived's own: ipvs | nftables | auto (IPVS when the kernel has it)
    lvs_sync_daemon: LvsSyncDaemon | None = None  # model_syncd.py
    metrics_listen: str | None = None  # pykeepalived's own: ADDR:PORT of the Prometheus endpoint (off: None)
    # VMAC (keepalived's use_vmac): the default VMAC name is PREFIX.VRID; vmac_addr_prefix
    # names per-address VMACs (use_vmac_addr / a VIP's use_vmac), which are refused
    vmac_prefix: str | None = None
    vmac_addr_prefix: str | None = None
    pykeepalived_graceful_handover: bool = True  # pykeepalived's own: a leaving master waits for the new one
    pykeepalived_split_brain_garp: bool = True  # pykeepalived's own: re-announce when a split brain heals
    # socket receive buffers (keywords/rcvbufs.py; None: ours, see rcv_bufs)
    vrrp_netlink_cmd_rcv_bufs: int | None = None
    vrrp_netlink_cmd_rcv_bufs_force: bool = False
    vrrp_netlink_monitor_rcv_bufs: int | None = None
    vrrp_netlink_monitor_rcv_bufs_force: bool = False
    process_monitor_rcv_bufs: int | None = None
    process_monitor_rcv_bufs_force: bool = False
    vrrp_rx_bufs_policy: str | int | None = None  # "MTU" | "ADVERT" | bytes; None: 4 MiB forced
    vrrp_rx_bufs_multiplier: int = 3
    loc: Location = _loc()
    locs: dict[str, Location] = _locs()

    def rcv_bufs(self, name: str) -> tuple[int, bool] | None:
        """(bytes, force) for the socket ``name`` (``vrrp_netlink_cmd``, ...), None when neither
        of its keywords is given (the kernel's default stays). keepalived's default size
        (64 KiB, IF_DEFAULT_BUFSIZE) goes with a bare ``_force``."""
        size, force = getattr(self, f"{name}_rcv_bufs"), getattr(self, f"{name}_rcv_bufs_force")
        if size is None and not force:
            return None
        return (size or NETLINK_DEFAULT_RCVBUF, force)


NETLINK_DEFAULT_RCVBUF = 64 * 1024  # keepalived's IF_DEFAULT_BUFSIZE


@dataclass
class VrrpScript:
    """``vrrp_script NAME { ... }``: a periodic health script for VRRP tracking."""

    name: str
    script: Script
    interval: float = 1.0
    timeout: float | None = None
    weight: int = 0
    weight_reverse: bool = False
    rise: int = 1
    fall: int = 1
    init_fail: bool = False
    user: tuple[str, ...] = ()
    loc: Location = _loc()
    locs: dict[str, Location] = _locs()


@dataclass
class TrackFile:
    """``track_file NAME { file PATH; weight N }``: priority from a number in a file."""

    name: str
    file: str
    weight: int = 1
    weight_reverse: bool = False
    init_file: bool = False
    loc: Location = _loc()
    locs: dict[str, Location] = _locs()


@dataclass
class VirtualIp:
    """One ``virtual_ipaddress`` line: ``ADDR[/LEN] [brd X] [dev X] [scope X] [label X]``."""

    address: IPInterface
    brd: ipaddress.IPv4Address | None = None
    dev: str | None = None
    scope: str | None = None
    label: str | None = None
    no_track: bool = False
    loc: Location = _loc()


@dataclass
class TrackRef:
    """An entry of track_interface / track_script / track_file.

    ``weight`` None means the tracked object's own weight (scripts, files) or
    "fault when down" (interfaces).
    """

    name: str
    weight: int | None = None
    reverse: bool = False
    loc: Location = _loc()
    sync_group: str | None = None  # put on the instance by its vrrp_sync_group (config/sync_tracking.py)


@dataclass
class UseVmac:
    """``use_vmac [NAME] [MAC]``: the VMAC's name (None: vmac_prefix.VRID) and MAC
    (None: RFC 5798's 00:00:5e:00:01|02:VRID), as keepalived 2.2.7 reads them."""

    name: str | None = None
    mac: str | None = None  # "aa:bb:cc:dd:ee:ff", VRID already filled in


@dataclass
class UnicastPeer:
    address: IPAddress
    min_ttl: int | None = None
    max_ttl: int | None = None
    loc: Location = _loc()


@dataclass
class Nexthop:
    """One path of a multipath route: ``nexthop [via ADDR] [dev IF] [weight N] [onlink]``."""

    via: IPAddress | None = None
    dev: str | None = None
    weight: int = 1  # 1-256, the kernel's rtnh_hops + 1
    onlink: bool = False


@dataclass
class Route:
    """One ``static_routes`` / ``virtual_routes`` line, ip-route(8) words as keepalived reads them.

    ``via A or B`` is keepalived's two-gateway multipath route: two ``nexthops``."""

    dst: IPNetwork
    type: str = "unicast"  # unicast | blackhole | unreachable | prohibit | throw
    src: IPAddress | None = None  # the preferred source address (RTA_PREFSRC)
    from_prefix: IPNetwork | None = None  # ``from PREFIX``: the source prefix (IPv6 source routing)
    via: IPAddress | None = None
    dev: str | None = None
    nexthops: tuple[Nexthop, ...] = ()
    table: int | None = None  # None: main
    metric: int | None = None
    scope: int | None = None  # None: the kernel's (link without a gateway, else global)
    protocol: int | None = None  # None: keepalived's own (18)
    onlink: bool = False
    mtu: int | None = None
    no_track: bool = False
    loc: Location = _loc()

    @property
    def family(self) -> int:
        return self.dst.version


@dataclass
class Rule:
    """One ``static_rules`` / ``virtual_rules`` line, ip-rule(8) words as keepalived reads them."""

    family: int = 4
    from_prefix: IPNetwork | None = None  # None: all
    to: IPNetwork | None = None
    invert: bool = False  # ``not``
    action: str = "table"  # table | goto | blackhole | unreachable | prohibit | nop
    table: int | None = None
    goto: int | None = None
    priority: int | None = None  # None: the kernel picks one
    iif: str | None = None
    oif: str | None = None
    fwmark: int | None = None
    fwmask: int | None = None
    tos: int | None = None
    suppress_prefixlength: int | None = None
    suppress_ifgroup: int | None = None
    protocol: int | None = None  # None: keepalived's own (18)
    no_track: bool = False
    loc: Location = _loc()


@dataclass
class Notify:
    """The notify scripts shared by instances and sync groups."""

    notify_master: Script | None = None
    notify_backup: Script | None = None
    notify_fault: Script | None = None
    notify_stop: Script | None = None
    notify: Script | None = None
    notify_deleted: Script | None = None  # vrrp_instance only: run when a reload removes it


@dataclass
class VrrpInstance:
    name: str
    interface: str
    virtual_router_id: int
    state: str | None = None  # initial state: MASTER | BACKUP
    priority: int = 100
    advert_int: float = 1.0
    version: int | None = None  # None: global vrrp_version (v3 for IPv6)
    nopreempt: bool = False
    preempt_delay: float = 0.0
    auth_type: str | None = None
    auth_pass: str | None = None
    virtual_ipaddress: tuple[VirtualIp, ...] = ()
    virtual_ipaddress_excluded: tuple[VirtualIp, ...] = ()
    track_interface: tuple[TrackRef, ...] = ()
    track_script: tuple[TrackRef, ...] = ()
    track_file: tuple[TrackRef, ...] = ()
    track_process: tuple[TrackRef, ...] = ()
    track_bfd: tuple[TrackRef, ...] = ()  # config/keywords/bfd.py
    dont_track_primary: bool = False
    mcast_src_ip: IPAddress | None = None
    mcast_dst_ip: IPAddress | None = None  # None: global_defs vrrp_mcast_group4/6
    unicast_ttl: int | None = None  # TTL / hop limit of unicast adverts; None: 255
    unicast_fault_no_peer: bool = False  # unicast with no unicast_peer: FAULT instead of multicast
    down_timer_adverts: int | None = None  # None: global_defs vrrp_down_timer_adverts
    unicast_src_ip: IPAddress | None = None
    unicast_peer: tuple[UnicastPeer, ...] = ()
    virtual_routes: tuple[Route, ...] = ()  # added on becoming MASTER, removed on leaving it
    virtual_rules: tuple[Rule, ...] = ()
    garp_master_delay: int | None = None
    garp_master_repeat: int | None = None
    garp_master_refresh: int | None = None
    garp_master_refresh_repeat: int | None = None
    garp_lower_prio_delay: int | None = None
    garp_lower_prio_repeat: int | None = None
    lower_prio_no_advert: bool | None = None  # None: global_defs' vrrp_lower_prio_no_advert
    higher_prio_send_advert: bool | None = None
    skip_check_adv_addr: bool | None = None  # None: global_defs' vrrp_skip_check_adv_addr
    promote_secondaries: bool = False  # the interface's IPv4 sysctl while we run (net/promote.py)
    native_ipv6: bool = False  # an IPv6 instance even without IPv6 VIPs (family, version 3)
    # keepalived's old_unicast_checksum: "old" (bare: send the < 1.3.6 form), "never"; None: RFC
    old_unicast_checksum: str | None = None
    strict_mode: bool | None = None  # None: global_defs' vrrp_strict
    accept: bool | None = None  # RFC 5798 Accept_Mode; "no_accept" sets False; None: keepalived's default
    notify: Notify = field(default_factory=Notify)
    notify_priority_changes: bool | None = None  # None: global_defs' vrrp_notify_priority_changes
    notify_deleted: bool = False  # a reload that removes it notifies DELETED (keepalived), not STOP
    notify_master_rx_lower_pri: Script | None = None  # run each time a master hears a lower priority
    smtp_alert: bool | None = None
    use_vmac: UseVmac | None = None  # VIPs, adverts and GARPs on a macvlan with the virtual MAC
    vmac_xmit_base: bool = False  # adverts from the base interface instead of the VMAC
    loc: Location = _loc()
    locs: dict[str, Location] = _locs()

    @property
    def family(self) -> int:
        """4 or 6, from the VIPs (keepalived's rule); 4 when there are none, unless native_ipv6."""
        if self.native_ipv6:
            return 6
        if self.virtual_ipaddress:
            return self.virtual_ipaddress[0].address.version
        return 4


@dataclass
class VrrpSyncGroup:
    name: str
    group: tuple[str, ...]
    notify: Notify = field(default_factory=Notify)
    smtp_alert: bool | None = None
    # each also lands on every member, marked with the group (config/sync_tracking.py)
    track_interface: tuple[TrackRef, ...] = ()
    track_script: tuple[TrackRef, ...] = ()
    track_file: tuple[TrackRef, ...] = ()
    track_process: tuple[TrackRef, ...] = ()
    # the members' own tracking keeps its weights (keepalived forces them to 0, FAULT, without it)
    sync_group_tracking_weight: bool = False
    loc: Location = _loc()
    locs: dict[str, Location] = _locs()
