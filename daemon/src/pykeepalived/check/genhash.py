"""``genhash``: fetch a URL as HTTP_GET / SSL_GET would and print the MD5 digest of its body.

Same flags as keepalived's genhash::

    genhash -s SERVER -p PORT -u URL [-S] [-V VIRTUALHOST] [-P 1.0|1.0C|1.1] [-t TIMEOUT] [-v]

Prints ``MD5SUM = <hex>`` (the value for a ``digest`` line); exit 0, or 1 with
the reason on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import ipaddress
import socket
import sys

from ..compat.aio import TIMEOUT_ERRORS
from .base import Target
from .http import UrlSpec, fetch


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genhash", description="MD5 digest of a URL's body, for HTTP_GET/SSL_GET digest")
    p.add_argument("-s", "--server", required=True, help="server address (or name)")
    p.add_argument("-p", "--port", type=int, help="port (default 80, or 443 with -S)")
    p.add_argument("-u", "--url", required=True, help="path, e.g. /index.html")
    p.add_argument("-S", "--use-ssl", action="store_true", help="use TLS (SSL_GET)")
    p.add_argument("-V", "--use-virtualhost", dest="virtualhost", help="Host header (and SNI with -S)")
    p.add_argument("-P", "--protocol", default="1.0", choices=("1.0", "1.0C", "1.1"), help="HTTP protocol")
    p.add_argument("-t", "--timeout", type=float, default=5.0, help="connect/read timeout in seconds")
    p.add_argument("-v", "--verbose", action="store_true", help="also print the status code and body length")
    return p


def resolve(server: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(server)
    except ValueError:
        return ipaddress.ip_address(socket.getaddrinfo(server, None, proto=socket.IPPROTO_TCP)[0][4][0])


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``pykeepalivedctl genhash ...`` delegates here with the remaining arguments."""
    args = parser().parse_args(argv)
    try:
        ip = resolve(args.server)
    except (OSError, ValueError) as err:
        print(f"genhash: cannot resolve {args.server}: {err}", file=sys.stderr)
        return 1
    port = args.port or (443 if args.use_ssl else 80)
    target = Target(ip=ip, port=port, timeout=args.timeout)
    url = UrlSpec(args.url, virtualhost=args.virtualhost)
    try:
        code, body = asyncio.run(fetch(target, url, args.protocol, args.use_ssl,
                                       sni=args.virtualhost if args.use_ssl else None))
    except Exception as err:  # any failure is reported, never a traceback
        reason = "timeout" if isinstance(err, TIMEOUT_ERRORS) else str(err) or type(err).__name__
        print(f"genhash: {target}{args.url}: {reason}", file=sys.stderr)
        return 1
    if args.verbose:
        print(f"HTTP status {code}, {len(body)} body bytes")
    print(f"MD5SUM = {hashlib.md5(body, usedforsecurity=False).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
