# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived_info: the running daemon's ``status`` (control socket) mapped to facts a
playbook can test: who is master, which VIPs a host holds, whether a real server is
drained and idle. Read-only; ``summarize`` is pure (the status dict in, facts out), and
``unready`` decides whether a restarted host is back (used by the role through the
``hapair.keepalived.vrrp_unready`` filter)."""

from __future__ import annotations

from ansible_collections.hapair.keepalived.plugins.module_utils import control

SECTIONS = ("vrrp", "lb")
INSTANCE_COUNTERS = ("adverts_sent", "adverts_received", "priority_zero_sent", "priority_zero_received",
                     "became_master", "released_master", "transitions")

MODULE_KWARGS = dict(
    argument_spec=dict(
        runtime_dir=dict(type="path", default="/run/pykeepalived"),
        gather=dict(type="list", elements="str", choices=list(SECTIONS), default=list(SECTIONS)),
        timeout=dict(type="float", default=10.0),
    ),
    supports_check_mode=True,
)


def daemon_facts(status):
    """Process-level facts: version, pid, uptime, reloads, the last reload, data plane."""
    started, dumped = status.get("started"), status.get("dumped")
    last = status.get("last_reload")
    lb = status.get("lb") or {}
    children = status.get("children")
    return dict(
        version=status.get("version"),
        pid=status.get("pid"),
        config=status.get("config"),
        started=started,
        uptime=round(dumped - started, 3) if started is not None and dumped is not None else None,
        subsystems=list(status.get("subsystems") or []),
        reloads=status.get("reloads", 0),
        reload_failures=status.get("reload_failures", 0),
        last_reload=None if not last else dict(time=last.get("time"), reloaded=bool(last.get("reloaded")),
                                               errors=list(last.get("errors") or [])),
        backend=lb.get("backend"),
        children=None if children is None else {
            role: dict(pid=c.get("pid"), up=c.get("up"), restarts=c.get("restarts")) for role, c in children.items()},
    )


def instance_facts(entry):
    """One VRRP instance. The daemon holds an instance's VIPs exactly while it is MASTER."""
    counters = entry.get("counters") or {}
    drops = dict(counters.get("drops") or {})
    vips = list(entry.get("virtual_ipaddress") or [])
    state = entry.get("state")
    facts = dict(
        name=entry.get("name"),
        interface=entry.get("interface"),
        vrid=entry.get("vrid"),
        version=entry.get("version"),
        state=state,
        priority=entry.get("priority"),
        effective_priority=entry.get("effective_priority"),
        address=entry.get("address"),
        master_address=entry.get("master_address"),
        master_priority=entry.get("master_priority"),
        advert_interval=entry.get("advert_interval"),
        vips=vips,
        vips_held=vips if state == "MASTER" else [],
        tracked=[dict(name=t.get("name"), weight=t.get("weight"), up=t.get("up")) for t in entry.get("tracked") or []],
        drops=drops,
        dropped=sum(drops.values()),
    )
    facts.update({name: counters.get(name, 0) for name in INSTANCE_COUNTERS})
    return facts


def vrrp_facts(vrrp):
    if vrrp is None:
        return None
    instances = [instance_facts(i) for i in vrrp.get("instances") or []]
    return dict(
        instances=instances,
        masters=[i["name"] for i in instances if i["state"] == "MASTER"],
        vips_held=[v for i in instances for v in i["vips_held"]],
        sync_groups=[dict(name=g.get("name"), state=g.get("state"), members=list(g.get("members") or []))
                     for g in vrrp.get("sync_groups") or []],
        socket_drops=dict(vrrp.get("socket_drops") or {}),
    )


def real_server_facts(entry):
    kernel = entry.get("kernel") or []
    return dict(
        address=entry.get("address"),
        port=entry.get("port"),
        up=entry.get("up"),
        weight=entry.get("effective_weight"),
        configured_weight=entry.get("weight"),
        drained=bool(entry.get("drained")),
        in_table=entry.get("in_table"),
        active_connections=sum(k.get("active") or 0 for k in kernel),
        inactive_connections=sum(k.get("inactive") or 0 for k in kernel),
    )


def lb_facts(lb):
    if lb is None:
        return None
    servers = []
    for vs in lb.get("virtual_servers") or []:
        rss = [real_server_facts(rs) for rs in vs.get("real_servers") or []]
        servers.append(dict(name=vs.get("virtual_server"), quorum_up=vs.get("quorum_up"),
                            services=list(vs.get("services") or []), real_servers=rss,
                            real_servers_up=sum(1 for rs in rss if rs["up"])))
    return dict(backend=lb.get("backend"), virtual_servers=servers)


def summarize(status, gather=SECTIONS):
    """The daemon's ``status`` result -> the module's facts; sections not in ``gather`` are left out."""
    out = dict(daemon=daemon_facts(status))
    if "vrrp" in gather:
        out["vrrp"] = vrrp_facts(status.get("vrrp"))
    if "lb" in gather:
        out["lb"] = lb_facts(status.get("lb"))
    return out


def stays_backup(inst, want):
    """A BACKUP that VRRP keeps BACKUP: it will not preempt, or its master outranks it."""
    if want.get("preempt") is False:
        return True
    mine, theirs = inst.get("effective_priority"), inst.get("master_priority")
    return inst.get("master_address") not in (None, inst.get("address")) and None not in (mine, theirs) \
        and theirs > mine


def unready(info, expected, host="this host"):
    """Why a (re)started host is not back yet: one line per instance of ``expected`` (each
    ``name`` and wanted ``state``) that is missing, in another state, or a BACKUP that has
    heard no advert yet. A MASTER-wanted instance may stay a BACKUP that hears a master when
    it will not preempt: ``preempt: false``, or that master outranks it (its tracking lowered
    it, or the peer took over while it was away): VRRP keeps it BACKUP, waiting would not help.
    An empty list: every instance is where it should be and a backup can take over."""
    # (a result with "daemon" is an answer even when failed: an exhausted until: sets failed)
    if not info or "daemon" not in info:
        msg = (info or {}).get("msg") or "no answer from the daemon"
        return [f"{host}: {msg}"]
    have = {i["name"]: i for i in ((info.get("vrrp") or {}).get("instances") or [])}
    lines = []
    for want in expected or []:
        name, state = want["name"], str(want["state"]).upper()
        inst = have.get(name)
        if inst is None:
            lines.append(f"{host}: instance {name} is not running")
            continue
        accepted = {state} | ({"BACKUP"} if state == "MASTER" and stays_backup(inst, want) else set())
        if inst["state"] not in accepted:
            lines.append(f"{host}: instance {name} is {inst['state']}, want {state}")
        elif inst["state"] == "BACKUP" and not inst["adverts_received"]:
            lines.append(f"{host}: instance {name} is BACKUP but has received no advert from a master")
    return lines


def run(module):
    runtime_dir = module.params["runtime_dir"]
    if not control.available(runtime_dir):
        module.fail_json(msg=f"pykeepalived is not running: no control socket at {control.socket_path(runtime_dir)}")
    try:
        status = control.request(runtime_dir, "status", timeout=module.params["timeout"])
    except control.ControlError as exc:
        module.fail_json(msg=f"pykeepalived does not answer: {exc}")
    module.exit_json(changed=False, **summarize(status or {}, module.params["gather"]))
