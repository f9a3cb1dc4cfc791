# Copyright: hapair.keepalived contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The enumerations of the modules' options: the values the daemon's config accepts.

The daemon compares most of them case-insensitively; the modules take the
spelling keepalived's documentation uses. tests/unit/test_choices.py checks
that these lists equal the daemon's (pykeepalived.config.keywords) and that
every module's DOCUMENTATION lists the same choices.
"""

from __future__ import annotations

PROTOCOLS = ["TCP", "UDP", "SCTP"]
SCHEDULERS = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "sed", "nq", "mh", "fo", "ovf", "twos"]
FORWARDING_METHODS = ["NAT", "DR", "TUN"]
IP_FAMILIES = ["inet", "inet6"]
CHECKER_TYPES = ["TCP_CHECK", "HTTP_GET", "SSL_GET", "SMTP_CHECK", "DNS_CHECK", "MISC_CHECK", "PING_CHECK", "UDP_CHECK",
                 "FILE_CHECK"]
HTTP_PROTOCOLS = ["1.0", "1.0C", "1.1"]
DNS_TYPES = ["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"]
VRRP_STATES = ["MASTER", "BACKUP"]
VRRP_VERSIONS = [2, 3]
