# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp_instance: options -> ``conf.d/vrrp_instance-NAME.conf``, plus sync group membership.

A sync group is ``conf.d/vrrp_sync_group-G.conf`` whose ``group { }`` block includes
``vrrp_sync_group-G.d/*.conf``; each member instance owns one file there holding its
name. So every instance task manages only its own files, and the group fragment
exists exactly while the group has members.
"""

from __future__ import annotations

import glob
import os

from ansible_collections.hapair.keepalived.plugins.module_utils import choices
from ansible_collections.hapair.keepalived.plugins.module_utils.fragments import (
    ConfigObject,
    common_argument_spec,
    safe_id,
)
from ansible_collections.hapair.keepalived.plugins.module_utils.syntax import Block, apply_table, fragment_text, word

SIMPLE = (
    ("interface", "interface", "value"),
    ("initial_state", "state", "value"),
    ("vrid", "virtual_router_id", "value"),
    ("priority", "priority", "value"),
    ("version", "version", "value"),
    ("advert_int", "advert_int", "value"),
    ("preempt_delay", "preempt_delay", "value"),
    ("unicast_src_ip", "unicast_src_ip", "value"),
    ("mcast_src_ip", "mcast_src_ip", "value"),
    ("dont_track_primary", "dont_track_primary", "flag"),
    ("accept", "accept", "onoff"),
    ("strict_mode", "strict_mode", "onoff"),
    ("lower_prio_no_advert", "lower_prio_no_advert", "onoff"),
    ("higher_prio_send_advert", "higher_prio_send_advert", "onoff"),
    ("garp_master_delay", "garp_master_delay", "value"),
    ("garp_master_repeat", "garp_master_repeat", "value"),
    ("garp_master_refresh", "garp_master_refresh", "value"),
    ("garp_master_refresh_repeat", "garp_master_refresh_repeat", "value"),
    ("garp_lower_prio_delay", "garp_lower_prio_delay", "value"),
    ("garp_lower_prio_repeat", "garp_lower_prio_repeat", "value"),
    ("notify_master", "notify_master", "value"),
    ("notify_backup", "notify_backup", "value"),
    ("notify_fault", "notify_fault", "value"),
    ("notify_stop", "notify_stop", "value"),
    ("notify", "notify", "value"),
    ("smtp_alert", "smtp_alert", "onoff"),
)
# Where the rendering splits SIMPLE (the keepalived order of the daemon's renderer).
HEAD_END, ADDRESSING_END = 6, 14
SYNC_GROUP = (
    ("notify_master", "notify_master", "value"),
    ("notify_backup", "notify_backup", "value"),
    ("notify_fault", "notify_fault", "value"),
    ("notify_stop", "notify_stop", "value"),
    ("notify", "notify", "value"),
    ("smtp_alert", "smtp_alert", "onoff"),
)
VIP_KEYS = ("address", "brd", "dev", "scope", "label", "no_track")


def argument_spec():
    spec = common_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        interface=dict(type="str"),
        vrid=dict(type="int"),
        priority=dict(type="int"),
        initial_state=dict(type="str", choices=choices.VRRP_STATES),
        version=dict(type="int", choices=choices.VRRP_VERSIONS),
        advert_int=dict(type="float"),
        preempt=dict(type="bool"),
        preempt_delay=dict(type="float"),
        auth_pass=dict(type="str", no_log=True),
        vips=dict(type="list", elements="raw", default=[]),
        unicast_src_ip=dict(type="str"),
        vips_excluded=dict(type="list", elements="raw", default=[]),
        unicast_peers=dict(type="list", elements="str", default=[]),
        mcast_src_ip=dict(type="str"),
        dont_track_primary=dict(type="bool"),
        accept=dict(type="bool"),
        strict_mode=dict(type="bool"),
        lower_prio_no_advert=dict(type="bool"),
        higher_prio_send_advert=dict(type="bool"),
        garp_lower_prio_delay=dict(type="int"),
        garp_lower_prio_repeat=dict(type="int"),
        smtp_alert=dict(type="bool"),
        track_scripts=dict(type="list", elements="raw", default=[]),
        track_interfaces=dict(type="list", elements="raw", default=[]),
        track_files=dict(type="list", elements="raw", default=[]),
        notify_master=dict(type="str"),
        notify_backup=dict(type="str"),
        notify_fault=dict(type="str"),
        notify_stop=dict(type="str"),
        notify=dict(type="str"),
        garp_master_delay=dict(type="int"),
        garp_master_repeat=dict(type="int"),
        garp_master_refresh=dict(type="int"),
        garp_master_refresh_repeat=dict(type="int"),
        sync_group=dict(type="str"),
        sync_group_options=dict(type="dict", options={option: dict(type="bool" if kind == "onoff" else "str")
                                                      for option, _keyword, kind in SYNC_GROUP}),
    )
    return spec


MODULE_KWARGS = dict(
    argument_spec=argument_spec(),
    supports_check_mode=True,
    required_if=[("state", "present", ("interface", "vrid"))],
)


class VrrpInstance(ConfigObject):
    def __init__(self, module):
        super().__init__(module)
        self.name = safe_id(module, "name", self.params["name"])
        group = self.params["sync_group"]
        self.group = safe_id(module, "sync_group", group) if group is not None else None

    def fragment_path(self):
        return os.path.join(self.conf_d, f"vrrp_instance-{self.name}.conf")

    def group_paths(self, group):
        """(group fragment, member dir) of sync group ``group``."""
        base = os.path.join(self.conf_d, f"vrrp_sync_group-{group}")
        return base + ".conf", base + ".d"

    def desired(self):
        present = self.params["state"] == "present"
        files = {self.fragment_path(): self.render() if present else None}
        wanted_group = self.group if present else None
        member_name = f"{self.name}.conf"
        for member in glob.glob(os.path.join(glob.escape(self.conf_d), "vrrp_sync_group-*.d", glob.escape(member_name))):
            member_dir = os.path.dirname(member)
            group = os.path.basename(member_dir)[len("vrrp_sync_group-"):-len(".d")]
            if group == wanted_group:
                continue
            files[member] = None
            others = [f for f in glob.glob(os.path.join(glob.escape(member_dir), "*.conf")) if f != member]
            if not others:
                files[self.group_paths(group)[0]] = None
        if wanted_group is not None:
            group_file, member_dir = self.group_paths(wanted_group)
            files[os.path.join(member_dir, member_name)] = self.render_member()
            files[group_file] = self.render_group(wanted_group)
        return files

    def empty_dirs(self):
        return glob.glob(os.path.join(glob.escape(self.conf_d), "vrrp_sync_group-*.d"))

    def render(self):
        p = self.params
        block = Block("vrrp_instance", self.name)
        apply_table(block, p, SIMPLE[:HEAD_END])
        if p["preempt"] is False:
            block.flag("nopreempt", True)
        apply_table(block, p, SIMPLE[HEAD_END:ADDRESSING_END])
        if p["auth_pass"] is not None:
            block.block("authentication").add("auth_type", "PASS").add("auth_pass", p["auth_pass"])
        block.lines("virtual_ipaddress", [self.vip_words(v) for v in p["vips"]])
        block.lines("virtual_ipaddress_excluded", [self.vip_words(v) for v in p["vips_excluded"]])
        block.lines("unicast_peer", [(peer,) for peer in p["unicast_peers"]])
        block.lines("track_interface", [self.weighted(t, "track_interfaces") for t in p["track_interfaces"]])
        block.lines("track_script", [self.weighted(t, "track_scripts") for t in p["track_scripts"]])
        block.lines("track_file", [self.weighted(t, "track_files") for t in p["track_files"]])
        apply_table(block, p, SIMPLE[ADDRESSING_END:])
        return fragment_text(self.header, block)

    def render_member(self):
        return f"# {self.header[0]}\n# sync group member, see {self.fragment_path()}\n{word(self.name)}\n"

    def render_group(self, group):
        block = Block("vrrp_sync_group", group)
        block.block("group").include(f"vrrp_sync_group-{group}.d/*.conf")
        apply_table(block, self.params["sync_group_options"] or {}, SYNC_GROUP)
        header = self.header + (f"Members: one file per vrrp_instance in vrrp_sync_group-{group}.d/.",)
        return fragment_text(header, block)

    def vip_words(self, vip):
        if isinstance(vip, str):
            return (vip,)
        if not isinstance(vip, dict) or "address" not in vip:
            self.module.fail_json(msg=f"vips: each item is an address string or a dict with 'address' (got {vip!r})")
        unknown = sorted(set(vip) - set(VIP_KEYS))
        if unknown:
            self.module.fail_json(msg=f"vips: unknown key(s) {', '.join(unknown)} in {vip!r}; known: {', '.join(VIP_KEYS)}")
        words = [vip["address"]]
        for key in VIP_KEYS[1:-1]:
            if vip.get(key) is not None:
                words.extend((key, vip[key]))
        if vip.get("no_track"):
            words.append("no_track")
        return tuple(words)

    def weighted(self, item, option):
        """``NAME`` or ``NAME weight N`` from a name or a {name, weight} dict."""
        if isinstance(item, str):
            return (item,)
        if not isinstance(item, dict) or "name" not in item or set(item) - {"name", "weight"}:
            self.module.fail_json(msg=f"{option}: each item is a name or a dict with 'name' and optional 'weight' (got {item!r})")
        if item.get("weight") is None:
            return (item["name"],)
        return (item["name"], "weight", item["weight"])
