"""Instance-level checks of a decoded advert against our configuration.

The codec rejects what is malformed for anyone; this rejects what is well
formed but not acceptable to *this* virtual router (RFC 3768 7.1, RFC 5798
7.1, keepalived's ``vrrp_in_chk``).  The result keys the drop counters.
"""
from __future__ import annotations

from .packet import Advertisement, AuthType, DropReason, IPAddress
from .router_config import RouterConfig


def check_advert(cfg: RouterConfig, advert: Advertisement, src: IPAddress,
                 dst: IPAddress | None = None, ttl: int | None = None) -> DropReason | None:
    """Return why ``advert`` from ``src`` to ``dst`` must be dropped, or None to accept it.

    Who may speak: in unicast mode only a configured peer; in multicast mode
    only to the group (the codec has already required TTL 255 there, RFC 5798
    7.1). Without these an off-link host could send one advert with priority
    254 to the master's own address and take its VIP away. ``dst`` None (a
    caller without the IP header) skips the destination check.  ``ttl`` is the
    received TTL / hop limit: a unicast peer's must lie in its ``min_ttl``..
    ``max_ttl`` (keepalived's way to refuse a peer's adverts that crossed more
    routers than expected); None skips that check."""
    if advert.version != cfg.version or type(src) is not type(cfg.address):
        return DropReason.VERSION
    if advert.vrid != cfg.vrid:
        return DropReason.VRID
    if src == cfg.address:
        return DropReason.OWN  # multicast loopback, or a duplicate address on the LAN
    if cfg.unicast_peers:
        if src not in cfg.unicast_peers:
            return DropReason.PEER
        if ttl is not None:
            lo, hi = cfg.peer_ttl_range(src)
            if not lo <= ttl <= hi:
                return DropReason.TTL
    elif dst is not None and dst != cfg.group:
        return DropReason.DESTINATION  # unicast-addressed: TTL unchecked, maybe from off the link
    if cfg.version == 2:
        if advert.auth_type != cfg.auth_type:
            return DropReason.AUTH  # RFC 3768 7.1: MUST match the configured type
        if cfg.auth_type == AuthType.SIMPLE and advert.auth_data != cfg.auth_pass.ljust(8, b"\0"):
            return DropReason.AUTH
        if advert.advert_interval != cfg.wire_interval:
            return DropReason.INTERVAL  # RFC 3768 7.1: MUST be ours (v3 learns it instead)
    if advert.count != len(cfg.virtual_addresses):
        return DropReason.ADDRESS_COUNT  # keepalived: always checked
    if cfg.check_addresses and not set(cfg.virtual_addresses) <= set(advert.addresses):
        return DropReason.ADDRESS_LIST  # RFC 5798 7.1 "MAY"; keepalived unless skip_check_adv_addr
    return None
