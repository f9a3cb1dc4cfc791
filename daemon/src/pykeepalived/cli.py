"""Command lines: ``pykeepalived`` (keepalived's flags) and ``pykeepalivedctl``."""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__

# Each command imports what it uses, when it runs: a supervised child gets its config as a
# built model (core/snapshot.py) and never needs the parser, the validator or the renderer.

DEFAULT_CONFIG = "/etc/pykeepalived/keepalived.conf"
DEFAULT_RUNTIME_DIR = "/run/pykeepalived"


class HelpFormatter(argparse.HelpFormatter):
    """argparse's, with the terminal width found as ``shutil.get_terminal_size`` finds it but
    without importing shutil: argparse builds a formatter for every ``add_argument``, and shutil
    brings zlib, bz2 and lzma (0.65 MB in each of the daemon's processes)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:
            width = terminal_columns() - 2  # as argparse does
        super().__init__(prog, indent_increment, max_help_position, width)


def terminal_columns(fallback: int = 80) -> int:
    """COLUMNS, else the width of the terminal on stdout, else ``fallback`` (shutil's rules)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or fallback


def daemon_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pykeepalived", description="keepalived-compatible VRRP and load-balancing daemon",
                                formatter_class=HelpFormatter)
    p.add_argument("-f", "--use-file", dest="config", default=DEFAULT_CONFIG, help="configuration file")
    p.add_argument("-t", "--config-test", action="store_true", help="check the configuration and exit")
    p.add_argument("-i", "--config-id", help="keep only the conditional lines (@ID) for this id; @^ID lines for "
                   "every other (default: the host name up to its first dot)")
    p.add_argument("--dump-json", action="store_true", help="with -t: print the validated model as JSON")
    p.add_argument("-n", "--dont-fork", action="store_true", help="stay in the foreground")
    p.add_argument("-l", "--log-console", action="store_true", help="log to the console")
    p.add_argument("-D", "--log-detail", action="store_true", help="detailed log messages")
    p.add_argument("-P", "--vrrp", action="store_true", help="run only the VRRP subsystem")
    p.add_argument("-C", "--check", action="store_true", help="run only the health-checking subsystem")
    p.add_argument("--bfd", action="store_true", help="run only the BFD subsystem (the supervisor's BFD child)")
    p.add_argument("-p", "--pid", dest="pidfile", help="pid file (default: RUNTIME_DIR/pykeepalived.pid)")
    p.add_argument("--runtime-dir", default=DEFAULT_RUNTIME_DIR, help="directory for pid files, control socket, state")
    p.add_argument("--ping-fd", type=int, help=argparse.SUPPRESS)  # a supervised child (core/supervisor.py)
    p.add_argument("--ping-period", type=float, default=1.0, help=argparse.SUPPRESS)  # its pings' period
    p.add_argument("--print-unit", action="store_true", help="print the systemd unit file shipped with the package")
    p.add_argument("-v", "--version", action="version", version=f"pykeepalived {__version__}")
    return p


def unit_text() -> str:
    from importlib.resources import files  # noqa: PLC0415

    text = files("pykeepalived").joinpath("data/pykeepalived.service").read_text()
    exe = os.path.abspath(sys.argv[0]) if os.path.basename(sys.argv[0]) == "pykeepalived" else None
    return text.replace("/usr/bin/pykeepalived", exe) if exe else text  # the binary that printed it


def check_config(path: str, dump_json: bool = False, out=sys.stdout, err=sys.stderr,
                 config_id: str | None = None) -> int:
    """``-t``: print every problem as FILE:LINE:COL: error|warning: MESSAGE; 0 when valid.
    The judgment is a start's (core/judge.py), minus what depends on this host: script
    warnings and the kernel's choice for ``lb_backend auto``."""
    from .core.judge import judge  # noqa: PLC0415

    judged = judge(path, declared_backend=True, config_id=config_id)
    for diag in judged.diags.sorted():
        print(diag, file=err)
    for line in judged.unsafe:
        print(line, file=err)
    if judged.refused:
        n = len(judged.diags.errors or judged.unsafe)
        print(f"{path}: {n} error{'s' if n > 1 else ''}; configuration rejected", file=err)
        return 1
    if dump_json:
        from .config.dump import dumps  # noqa: PLC0415

        print(dumps(judged.config), file=out)
    return 0


def import_asyncio_without_tls() -> None:
    """Import asyncio with its TLS support left out, in a process that runs no checker.

    asyncio imports ``ssl`` for TLS transports, and with it OpenSSL: 4.4 MB of RSS per
    process (2.7 MB of it private), measured by bench/footprint.py.  Only the checker's
    SSL_GET speaks TLS; the supervising parent and the VRRP process never do.  ``ssl``
    stays importable: code that needs it later (a reload judging a virtual_server's
    checkers) imports it as usual; only asyncio's own TLS transports are off here."""
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return
    sys.modules["ssl"] = None  # asyncio: ``try: import ssl except ImportError: ssl = None``
    try:
        import asyncio  # noqa: F401, PLC0415
    finally:
        del sys.modules["ssl"]


def main(argv: list[str] | None = None) -> int:
    args = daemon_parser().parse_args(argv)
    if args.config_id:  # the environment carries it to every load: children, reload judges (config/preprocess.py)
        from .config.preprocess import CONFIG_ID_ENV  # noqa: PLC0415

        os.environ[CONFIG_ID_ENV] = args.config_id
    if args.config_test:
        return check_config(args.config, args.dump_json)
    if args.print_unit:
        sys.stdout.write(unit_text())
        return 0
    if args.check + args.vrrp + args.bfd > 1:
        print("pykeepalived: -P, -C and --bfd exclude each other (none runs two)", file=sys.stderr)
        return 2
    if not args.dont_fork:
        print("pykeepalived: only foreground mode (-n) is supported; use systemd to daemonise",
              file=sys.stderr)
        return 2
    if not args.check:
        import_asyncio_without_tls()
    if not (args.check or args.vrrp or args.bfd):  # keepalived's model: a parent with a VRRP and a checker child
        from .core.supervisor import run_supervisor  # noqa: PLC0415

        return run_supervisor(args.config, args.runtime_dir, args.pidfile, args.log_detail)
    from .core.daemon import run_daemon  # asyncio only for a running daemon

    if args.bfd:
        return run_daemon(args.config, args.runtime_dir, args.pidfile, args.log_detail,
                          vrrp=False, check=False, bfd=True, ping_fd=args.ping_fd, ping_period=args.ping_period)
    return run_daemon(args.config, args.runtime_dir, args.pidfile, args.log_detail,
                      vrrp=not args.check, check=not args.vrrp, ping_fd=args.ping_fd,
                      ping_period=args.ping_period)


def ctl_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pykeepalivedctl", description="inspect and control pykeepalived")
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate a configuration (like pykeepalived -t)")
    check.add_argument("-f", "--file", default=DEFAULT_CONFIG)
    check.add_argument("--json", action="store_true", help="print the validated model as JSON")
    fmt = sub.add_parser("format", help="print a configuration in canonical keepalived syntax")
    fmt.add_argument("-f", "--file", default=DEFAULT_CONFIG)
    gh = sub.add_parser("genhash", add_help=False, help="MD5 digest of a URL's body (keepalived's genhash; "
                        "pykeepalivedctl genhash -h)")
    gh.add_argument("args", nargs=argparse.REMAINDER)
    for name, text in (("status", "instances, virtual and real servers"), ("reload", "reload the configuration")):
        sp = sub.add_parser(name, help=text)
        _ctl_common(sp)
    for name, text in (("drain", "weight 0 for a real server (persisted across restarts)"),
                       ("undrain", "undo drain"), ("set-weight", "operator weight for a real server"),
                       ("wait-drain", "wait until a real server has no active connections"),
                       ("real-server", "one real server's runtime view; --state/--weight change it")):
        sp = sub.add_parser(name, help=text)
        _ctl_common(sp)
        sp.add_argument("address", help="real server address")
        sp.add_argument("port", nargs="?", type=int, help="real server port (default: every port)")
        sp.add_argument("--virtual-server", help='e.g. "TCP 192.0.2.80:80" as status shows (default: all)')
        if name == "set-weight":
            sp.add_argument("--weight", required=True, help="0..65535, or 'clear'")
        if name == "wait-drain":
            sp.add_argument("--timeout", type=float, default=60.0, help="seconds (default 60)")
        if name == "real-server":
            sp.add_argument("--state", choices=["enabled", "drained"], help="default: as it is")
            sp.add_argument("--weight", help="runtime weight 0..65535, or 'clear'")
            sp.add_argument("--wait", action="store_true", help="drained: until idle; enabled: until up")
            sp.add_argument("--timeout", type=float, default=60.0, help="seconds --wait waits (default 60)")
    for name, text in (("resign", "planned switchover: masters hand over and stay BACKUP until unresign"),
                       ("unresign", "undo resign: the instances may become MASTER again")):
        sp = sub.add_parser(name, help=text)
        _ctl_common(sp)
        sp.add_argument("instances", nargs="*", metavar="INSTANCE", help="vrrp_instance names")
        sp.add_argument("--all", action="store_true", help="every instance")
    return p


def _ctl_common(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--runtime-dir", default=DEFAULT_RUNTIME_DIR, help="the daemon's runtime dir")
    sp.add_argument("--json", action="store_true", help="print the daemon's JSON reply")


def ctl_main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["genhash"]:  # genhash's own options (-s -p -u -S -V ...), keepalived's spelling
        from .check.genhash import main as genhash  # noqa: PLC0415

        return genhash(argv[1:])
    args = ctl_parser().parse_args(argv)
    if args.command not in ("check", "format"):
        from .ctl import run_command  # noqa: PLC0415

        return run_command(args)
    if args.command == "check":
        return check_config(args.file, args.json)
    from .config.loader import load_config  # noqa: PLC0415
    from .config.render import render  # noqa: PLC0415

    config, diags = load_config(args.file)
    for diag in diags.sorted():
        print(diag, file=sys.stderr)
    if diags.errors:
        return 1
    sys.stdout.write(render(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
