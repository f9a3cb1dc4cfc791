"""``pykeepalivedctl status|reload|drain|undrain|set-weight|wait-drain|real-server|resign|unresign``: the control socket's CLI.

Exit codes: 0 done (or nothing to do, said so), 1 the daemon refused or
failed the request (a rejected reload, an unknown real server, wait-drain
timed out, a real-server --wait not done), 3 no daemon to talk to (no socket, permission denied).
"""
from __future__ import annotations

import argparse
import json
import sys

from .core.client import request


def _req(args: argparse.Namespace) -> dict:
    req: dict = {"cmd": args.command}
    if args.command in ("drain", "undrain", "set-weight", "wait-drain", "real-server"):
        req["address"] = args.address
        if args.port is not None:
            req["port"] = args.port
        if args.virtual_server:
            req["virtual_server"] = args.virtual_server
    if args.command == "set-weight":
        req["weight"] = None if args.weight == "clear" else int(args.weight)
    if args.command == "wait-drain":
        req["timeout"] = args.timeout
    if args.command == "real-server":
        req.update({k: v for k, v in (("state", args.state), ("wait", args.wait or None)) if v is not None})
        if args.weight is not None:
            req["weight"] = None if args.weight == "clear" else int(args.weight)
        req["timeout"] = args.timeout
    if args.command in ("resign", "unresign"):
        if bool(args.instances) == bool(args.all):
            raise ValueError(f"{args.command}: name the instances or give --all (not both)")
        req["instances"] = args.instances or None
    return req


RELOAD_WAIT = 300.0  # s: above JUDGE_TIMEOUT (120) + the children's apply (core/supervisor.py, 150)


def run_command(args: argparse.Namespace, out=sys.stdout, err=sys.stderr) -> int:
    try:
        req = _req(args)
    except ValueError as exc:
        why = exc if args.command in ("resign", "unresign") else f"bad weight {args.weight!r} (0..65535 or 'clear')"
        print(f"pykeepalivedctl: {why}", file=err)
        return 2
    timeout = 10.0 + (args.timeout if args.command in ("wait-drain", "real-server") else 0.0)
    if args.command == "reload":  # the daemon's own bounds (judge, then the children) end a reload first
        timeout = RELOAD_WAIT
    try:
        reply = request(args.runtime_dir, req, timeout=timeout)
    except (OSError, ValueError) as exc:
        print(f"pykeepalivedctl: cannot talk to the daemon in {args.runtime_dir}: {exc}", file=err)
        return 3
    if args.json:
        print(json.dumps(reply, indent=2, sort_keys=True), file=out)
    if not reply.get("ok"):
        if not args.json:
            print(f"pykeepalivedctl: {reply.get('error')}", file=err)
        return 3 if "permission denied" in str(reply.get("error")) else 1
    result = reply.get("result") or {}
    if args.json:
        return _rc(args.command, result)
    if args.command == "status":
        out.write(format_status(result))
    elif args.command == "reload":
        if result.get("reloaded"):
            print("reloaded: " + json.dumps({k: v for k, v in result.items() if k not in ("reloaded", "errors")},
                                            sort_keys=True), file=out)
        else:
            for line in result.get("errors", []):
                print(line, file=err)
            print("reload rejected; the daemon keeps running the previous configuration", file=err)
    elif args.command == "wait-drain":
        print("drained" if result.get("drained") else f"timeout: {result.get('active')} active connection(s)",
              file=out)
    elif args.command == "real-server":
        out.write(format_real_server(result))
    else:
        print(result.get("message", ""), file=out)
    return _rc(args.command, result)


def format_real_server(result: dict) -> str:
    lines = ["changed" if result.get("changed") else "unchanged"]
    for v in result.get("servers", []):
        port = f":{v['port']}" if v.get("port") is not None else ""
        runtime = v.get("runtime_weight")
        lines.append(f"  {v['virtual_server']}  {v['address']}{port} {'up' if v.get('up') else 'DOWN'} "
                     f"weight {v.get('weight')} runtime {'-' if runtime is None else runtime} "
                     f"effective {v.get('effective_weight')} active {v.get('active')} inactive {v.get('inactive')}"
                     f"{'  drained' if v.get('drained') else ''}")
    waited = result.get("waited")
    if waited:
        lines.append(f"wait for {waited['for']}: " + ("done" if waited["done"] else "TIMEOUT " + json.dumps(
            {k: v for k, v in waited.items() if k not in ("done", "for")})))
    return "\n".join(lines) + "\n"


def _rc(command: str, result: dict) -> int:
    if command == "reload" and not result.get("reloaded"):
        return 1
    if command == "wait-drain" and not result.get("drained"):
        return 1
    if command == "real-server" and not (result.get("waited") or {"done": True})["done"]:
        return 1
    return 0


def format_status(st: dict) -> str:
    lines = [f"pykeepalived {st.get('version')} pid {st.get('pid')} config {st.get('config')} "
             f"reloads {st.get('reloads')} (failed {st.get('reload_failures')})"]
    vrrp = st.get("vrrp")
    if vrrp:
        lines.append("VRRP instances:")
        for i in vrrp.get("instances", []):
            c = i.get("counters", {})
            state = i["state"] + (" (handing over)" if i.get("handing_over") else "") + \
                (" (resigned)" if i.get("resigned") else "")
            lines.append(f"  {i['name']:<12} {state:<7} {i['interface']} vrid {i['vrid']} "
                         f"priority {i['priority']} (effective {i['effective_priority']}) "
                         f"master {i.get('master_address') or '-'} "
                         f"adverts sent {c.get('adverts_sent', 0)} received {c.get('adverts_received', 0)}")
    lb = st.get("lb")
    if lb:
        lines.append(f"Virtual servers (backend {lb.get('backend')}):")
        for v in lb.get("virtual_servers", []):
            q = {True: "quorum up", False: "quorum DOWN", None: "quorum ?"}[v.get("quorum_up")]
            lines.append(f"  {v['virtual_server']}  {q}")
            for r in v.get("real_servers", []):
                active = sum(k.get("active") or 0 for k in r.get("kernel", []))
                inactive = sum(k.get("inactive") or 0 for k in r.get("kernel", []))
                port = f":{r['port']}" if r.get("port") is not None else ""
                lines.append(f"    {r['address']}{port:<6} {'up' if r['up'] else 'DOWN':<4} "
                             f"weight {r['weight']} effective {r['effective_weight']} "
                             f"active {active} inactive {inactive}{'  drained' if r.get('drained') else ''}")
    return "\n".join(lines) + "\n"
