"""The whole validated configuration; see model_vrrp and model_lvs for the parts."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model_bfd import BfdInstance
from .model_lvs import SslClient, VirtualServer, VirtualServerGroup
from .model_track_process import TrackProcess
from .model_vrrp import GlobalDefs, Route, Rule, TrackFile, VirtualIp, VrrpInstance, VrrpScript, VrrpSyncGroup


@dataclass
class Config:
    """A keepalived.conf after parsing and validation."""

    global_defs: GlobalDefs = field(default_factory=GlobalDefs)
    vrrp_scripts: dict[str, VrrpScript] = field(default_factory=dict)
    track_files: dict[str, TrackFile] = field(default_factory=dict)
    track_processes: dict[str, TrackProcess] = field(default_factory=dict)
    bfd_instances: dict[str, BfdInstance] = field(default_factory=dict)
    vrrp_sync_groups: dict[str, VrrpSyncGroup] = field(default_factory=dict)
    vrrp_instances: dict[str, VrrpInstance] = field(default_factory=dict)
    virtual_server_groups: dict[str, VirtualServerGroup] = field(default_factory=dict)
    virtual_servers: tuple[VirtualServer, ...] = ()
    # set by the VRRP process at its start, whatever the state (keepalived's static_* blocks)
    static_ipaddress: tuple[VirtualIp, ...] = ()
    static_routes: tuple[Route, ...] = ()
    static_rules: tuple[Rule, ...] = ()
    ssl: SslClient | None = None  # the top-level SSL block: SSL_GET's client certificate
    net_namespace: str | None = None  # keepalived's top-level net_namespace: run in /var/run/netns/NAME
