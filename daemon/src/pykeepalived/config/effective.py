"""What a vrrp_instance runs with once keepalived's own overrides apply (pure).

keepalived does not run every instance as written: ``vrrp_strict`` (or the
instance's ``strict_mode``) makes it RFC-strict, and it ignores settings the
RFCs forbid, with a log line (``vrrp_complete_instance`` in keepalived 2.2).
An existing keepalived.conf must behave the same here, so the same overrides
are applied, each with a warning that names the line:

- strict: authentication is dropped (RFC 5798 has none); ``state`` follows
  ownership (MASTER only at priority 255); no preempt_delay; no extra GARPs
  after a lower-priority advert; a master does not answer a lower-priority
  advert (lower_prio_no_advert) and does not send one before yielding
  (higher_prio_send_advert); Accept_Mode is off unless we own the address
  (VRRPv2 strict cannot turn it on: RFC 3768 has no Accept_Mode).
- VRRPv3 with authentication (not strict): the authentication is dropped.
- Accept_Mode (RFC 5798 6.1) defaults to on without strict mode, as in
  keepalived; off means packets to the VIPs are dropped (net/vip_filter.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .errors import Location
from .model import Config
from .model_vrrp import VrrpInstance

PRIORITY_OWNER = 255


def effective_version(inst: VrrpInstance, config: Config) -> int:
    """An explicit ``version``, else 3 for IPv6 (keepalived's rule), else global vrrp_version."""
    if inst.version is not None:
        return inst.version
    return 3 if inst.family == 6 else config.global_defs.vrrp_version


def is_strict(inst: VrrpInstance, config: Config) -> bool:
    return config.global_defs.vrrp_strict if inst.strict_mode is None else inst.strict_mode


@dataclass
class Effective:
    """The instance as it runs, and a (location, message) per override applied."""

    instance: VrrpInstance
    notes: list[tuple[Location, str]] = field(default_factory=list)


def effective_instance(inst: VrrpInstance, config: Config) -> Effective:
    """``inst`` with keepalived's strict-mode, VRRPv3 and Accept_Mode rules applied."""
    g = config.global_defs
    strict = is_strict(inst, config)
    owner = inst.priority == PRIORITY_OWNER
    where = inst.locs.get
    notes: list[tuple[Location, str]] = []
    changes: dict[str, object] = {}

    def override(attr: str, value, why: str, loc_key: str | None = None) -> None:
        changes[attr] = value
        notes.append((where(loc_key or attr, inst.loc), why))

    if inst.auth_type is not None:
        if strict:
            override("auth_type", None, "strict mode has no authentication: ignored (as keepalived)")
        elif effective_version(inst, config) == 3:
            override("auth_type", None, "VRRPv3 has no authentication (RFC 5798 9): ignored (as keepalived)")
        if "auth_type" in changes:
            changes["auth_pass"] = None
    if strict:
        if inst.state is not None and (inst.state == "MASTER") != owner:
            override("state", "MASTER" if owner else "BACKUP",
                     f"strict mode: state follows ownership, starting as {'MASTER' if owner else 'BACKUP'}")
        if inst.preempt_delay:
            override("preempt_delay", 0.0, "strict mode: preempt_delay is reset to 0")
        for attr in ("garp_lower_prio_repeat", "garp_lower_prio_delay"):
            if getattr(inst, attr):
                override(attr, 0, f"strict mode: {attr} is reset to 0")
        if inst.lower_prio_no_advert is False:
            override("lower_prio_no_advert", True, "strict mode: a master does not answer lower-priority adverts")
        if inst.higher_prio_send_advert:
            override("higher_prio_send_advert", False, "strict mode: higher_prio_send_advert is reset")
        if inst.accept and not owner and effective_version(inst, config) == 2:
            override("accept", False, "strict mode: VRRPv2 (RFC 3768) has no Accept_Mode: no_accept")
    # unset values: strict mode's defaults, else global_defs'
    defaults = {
        "garp_lower_prio_repeat": 0 if strict else g.vrrp_garp_lower_prio_repeat,
        "garp_lower_prio_delay": 0 if strict else g.vrrp_garp_lower_prio_delay,
        "lower_prio_no_advert": True if strict else g.vrrp_lower_prio_no_advert,
        "higher_prio_send_advert": False if strict else g.vrrp_higher_prio_send_advert,
        "accept": owner or not strict,
    }
    for attr, value in defaults.items():
        if attr not in changes and getattr(inst, attr) is None:
            changes[attr] = value
    return Effective(replace(inst, **changes) if changes else inst, notes)


def accept_mode(inst: VrrpInstance, config: Config) -> bool:
    """RFC 5798 6.1 Accept_Mode as the instance runs with it."""
    return bool(effective_instance(inst, config).instance.accept)
