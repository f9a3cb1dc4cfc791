"""Keyword tables, one module per area; TOP is the file's top level."""

from __future__ import annotations

from ..grammar import BlockSpec
from ..known import BLOCKS
from . import bfd, checkers, global_defs, lvs, routes, track_process, vrrp
from .common import kw

TOP = BlockSpec("the top level").add(
    kw("global_defs", global_defs.build_global_defs, (0, 0), block=global_defs.GLOBAL_DEFS),
    kw("net_namespace", global_defs.netns_name, (1, 1)),  # top level only, as in keepalived
    kw("SSL", checkers.build_ssl, (0, 0), field="ssl", block=checkers.SSL),  # SSL_GET's client certificate
    kw("vrrp_script", vrrp.build_vrrp_script, (1, 1), field="vrrp_scripts",
       block=vrrp.VRRP_SCRIPT, repeat=True),
    kw("track_file", vrrp.build_track_file, (1, 1), field="track_files",
       block=vrrp.TRACK_FILE, repeat=True),
    kw("vrrp_track_process", track_process.build_track_process, (1, 1), field="track_processes",
       block=track_process.VRRP_TRACK_PROCESS, repeat=True),
    kw("bfd_instance", bfd.build_bfd_instance, (1, 1), field="bfd_instances",
       block=bfd.BFD_INSTANCE, repeat=True),
    kw("vrrp_sync_group", vrrp.build_sync_group, (1, 1), field="vrrp_sync_groups",
       block=vrrp.VRRP_SYNC_GROUP, repeat=True),
    kw("vrrp_instance", vrrp.build_vrrp_instance, (1, 1), field="vrrp_instances",
       block=vrrp.VRRP_INSTANCE, repeat=True),
    # keepalived's static_* blocks: set at the VRRP process' start, whatever the state
    kw("static_ipaddress", vrrp.vips, (0, 0), block=vrrp.VIP_ITEM, repeat=True),
    kw("static_routes", routes.routes, (0, 0), block=routes.ROUTE_ITEM, repeat=True),
    kw("static_rules", routes.rules, (0, 0), block=routes.RULE_ITEM, repeat=True),
    kw("virtual_server_group", lvs.build_vsg, (1, 1), field="virtual_server_groups",
       block=lvs.VSG_ITEM, repeat=True),
    kw("virtual_server", lvs.build_virtual_server, (1, 2), field="virtual_servers",
       block=lvs.VIRTUAL_SERVER, repeat=True),
)

for _spec in (TOP, global_defs.GLOBAL_DEFS, vrrp.VRRP_SCRIPT, vrrp.TRACK_FILE, vrrp.VRRP_INSTANCE,
              vrrp.AUTHENTICATION, vrrp.VRRP_SYNC_GROUP, lvs.VIRTUAL_SERVER, lvs.REAL_SERVER,
              checkers.URL, checkers.SSL, checkers.SMTP_HOST, track_process.VRRP_TRACK_PROCESS, bfd.BFD_INSTANCE, bfd.BFD_CHECK,
              *checkers.SPECS.values()):
    BLOCKS[_spec.name] = _spec
