"""HTTP on the wire for HTTP_GET/SSL_GET: the url spec, the request keepalived sends, the response head.

Shared by the coroutine path (http.py, SSL_GET) and the callback path (http_attempt.py, HTTP_GET).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..config.url_regex import search
from .base import Target

DEFAULT_STATUS = ((200, 299),)
USER_AGENT = "KeepAliveClient"
MAX_BODY = 16 << 20  # a digest of more than this is not a health check


@dataclass(frozen=True)
class UrlSpec:
    """One ``url {}`` block, resolved (virtualhost inherited from checker/real/virtual server)."""

    path: str
    digest: str | None = None
    status: tuple[tuple[int, int], ...] = DEFAULT_STATUS
    virtualhost: str | None = None
    regex: re.Pattern | None = None  # config/url_regex.py compiled it
    regex_no_match: bool = False
    regex_min_offset: int = 0
    regex_max_offset: int | None = None

    @property
    def needs_body(self) -> bool:
        """Without digest or regex the status line is all that counts."""
        return self.digest is not None or self.regex is not None

    def accepts(self, code: int) -> bool:
        return any(lo <= code <= hi for lo, hi in self.status)

    def body_fault(self, body: bytes) -> str | None:
        """Why the body fails the url (digest, then regex, as keepalived tests them), or None."""
        if self.digest is not None:
            digest = hashlib.md5(body, usedforsecurity=False).hexdigest()
            if digest != self.digest.lower():
                return f"{self.path}: digest {digest} != {self.digest}"
        if self.regex is not None and \
                search(self.regex, body, self.regex_min_offset, self.regex_max_offset) == self.regex_no_match:
            return f"{self.path}: regex {'matched' if self.regex_no_match else 'did not match'}"
        return None


class UrlFailure(Exception):
    """A url answered, but not as required."""


def build_request(url: UrlSpec, target: Target, protocol: str, tls: bool) -> bytes:
    """keepalived's request: GET, User-Agent KeepAliveClient, Host (virtualhost or address[:port])."""
    if url.virtualhost:
        host = url.virtualhost
    else:
        host = f"[{target.ip}]" if target.ip.version == 6 else str(target.ip)
        if target.port not in (None, 443 if tls else 80):
            host += f":{target.port}"
    version = "HTTP/1.1" if protocol == "1.1" else "HTTP/1.0"
    lines = [f"GET {url.path} {version}", f"User-Agent: {USER_AGENT}", f"Host: {host}"]
    if protocol in ("1.1", "1.0C"):
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def parse_status(head: bytes) -> int:
    """The status code of a response head (its first line), all a url without digest needs."""
    eol = head.find(b"\r\n")
    line = head if eol < 0 else head[:eol]
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise UrlFailure(f"bad status line {line[:60].decode('latin-1')!r}")
    return int(parts[1])


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Status code and lower-cased headers of a response head."""
    code = parse_status(head)
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return code, headers
