"""`python -m lab`: bring labs up and down, run commands in hosts, ssh, status.

    python -m lab up five [--name NAME]            # detached: stays up until `down`
    python -m lab up ipvs --kernel uml -- CMD...   # uml: CMD runs in the guest, then all goes
    python -m lab run five -- CMD...               # up, run CMD on the controller, down
    python -m lab exec web1 -- ip -br addr
    python -m lab ssh lb1 [-- CMD...]
    python -m lab status
    python -m lab down [NAME... | --all]           # default: detached and orphaned labs
    python -m lab roots [RELEASE...]               # build (or find) Debian roots; print their paths
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from . import paths, roots, state
from .core import Lab
from .shell import clean_env
from .systemd_host import system_state
from .teardown import teardown


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after the first "--" is the command, untouched by argparse.
    split = argv.index("--") if "--" in argv else len(argv)
    args = _parser().parse_args(argv[:split])
    args.command = argv[split + 1:]
    return args.func(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    for name, func, text in (("up", cmd_up, "bring a topology up (detached)"),
                             ("run", cmd_run, "bring a topology up, run a command, tear down")):
        p = sub.add_parser(name, help=text)
        p.add_argument("topology", help="a YAML file, or a name in lab/topologies/")
        p.add_argument("--name", help="lab name (default: the topology's)")
        p.add_argument("--kernel", choices=("host", "uml"), default="host")
        p.set_defaults(func=func)
    p = sub.add_parser("down", help="tear labs down")
    p.add_argument("names", nargs="*")
    p.add_argument("--all", action="store_true", help="also labs owned by live processes")
    p.set_defaults(func=cmd_down)
    p = sub.add_parser("exec", help="run a command inside a host")
    p.add_argument("host")
    p.add_argument("--lab", help="lab name (default: $HAPAIR_LAB or the only lab up)")
    p.set_defaults(func=cmd_exec)
    p = sub.add_parser("ssh", help="ssh into a systemd host")
    p.add_argument("host")
    p.add_argument("--lab")
    p.set_defaults(func=cmd_ssh)
    p = sub.add_parser("roots", help="build (or find) the Debian roots hosts may use (`root:`)")
    p.add_argument("releases", nargs="*", metavar="RELEASE", help=f"default: all ({', '.join(roots.RELEASES)})")
    p.set_defaults(func=cmd_roots)
    p = sub.add_parser("status", help="list labs and their hosts")
    p.add_argument("names", nargs="*")
    p.set_defaults(func=cmd_status)
    return parser


def cmd_up(args: argparse.Namespace) -> int:
    if args.kernel == "uml":
        return cmd_run(args)
    lab = Lab(args.topology, name=args.name).up()  # owner None: survives this process
    print(f"lab {lab.name} up in {lab.timings['up']:.2f}s")
    _print_lab(lab)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    command = args.command
    if not command:
        sys.exit("run needs a command after --")
    if args.kernel == "uml":
        from .uml import run_in_uml

        result = run_in_uml(command, topology=args.topology, name=args.name, stream=True)
        return result.returncode
    with Lab(args.topology, name=args.name, owner_pid=os.getpid()) as lab:
        env = {**os.environ, "HAPAIR_LAB": lab.name, "HAPAIR_LAB_INVENTORY": str(lab.inventory)}
        return subprocess.call(command, env=env)


def cmd_down(args: argparse.Namespace) -> int:
    names = args.names or state.known_labs()
    status = 0
    for name in names:
        saved = state.load(name)
        owned_by_live = saved is not None and saved.owner_pid is not None and not saved.orphaned
        if owned_by_live and not args.names and not args.all:
            print(f"skip {name}: owned by running process {saved.owner_pid} (use --all)")
            continue
        problems = teardown(name)
        print(f"down {name}" + (f": left {problems}" if problems else ""))
        status |= bool(problems)
    return status


def _attach(name: str | None) -> Lab:
    name = name or os.environ.get("HAPAIR_LAB")
    if not name:
        labs = [n for n in state.known_labs() if state.load(n)]
        if len(labs) != 1:
            sys.exit(f"which lab? use --lab NAME (up: {', '.join(labs) or 'none'})")
        name = labs[0]
    return Lab.attach(name)


def cmd_exec(args: argparse.Namespace) -> int:
    lab = _attach(args.lab)
    argv = lab.enter_argv(args.host) + (args.command or ["bash"])
    return subprocess.call(argv, env=clean_env())


def cmd_ssh(args: argparse.Namespace) -> int:
    lab = _attach(args.lab)
    argv = lab.ssh_argv(args.host) + args.command
    os.execvp(argv[0], argv)
    return 127


def cmd_status(args: argparse.Namespace) -> int:
    for name in args.names or state.known_labs():
        saved = state.load(name)
        if saved is None:
            print(f"{name}: leftovers without state (python -m lab down {name})")
            continue
        owner = "detached" if saved.owner_pid is None else f"owner pid {saved.owner_pid}"
        if saved.orphaned:
            owner += " (gone: orphaned)"
        print(f"{name}: kernel {saved.kernel}, {owner}, {saved.source or saved.topology}")
        if saved.kernel == "host":
            _print_lab(Lab.attach(name))
    return 0


def _print_lab(lab: Lab) -> None:
    for host in lab.topology.hosts:
        status = system_state(lab.pid1[host.name]) if host.name in lab.pid1 else "netns-only"
        print(f"  {host.name:<10} {status:<10} {lab.netns(host.name):<24} {' '.join(host.addresses())}")
    print(f"  inventory:  {lab.inventory}\n  ssh config: {lab.ssh_config}  (ssh -F ... HOST)")
    print(f"  state dir:  {lab.dir}\n  cgroup:     {paths.lab_cgroup(lab.name)}")


def cmd_roots(args: argparse.Namespace) -> int:
    unknown = [r for r in args.releases if r not in roots.RELEASES]
    if unknown:
        print(f"python -m lab roots: unknown release {', '.join(unknown)} (known: {', '.join(roots.RELEASES)})",
              file=sys.stderr)
        return 2
    for release in args.releases or list(roots.RELEASES):
        print(roots.ensure_root(release))
    return 0
