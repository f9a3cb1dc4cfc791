"""VRRP timer formulas, per protocol version.  Times are float seconds.

RFC 3768 (VRRPv2) 6.1::

    Skew_Time            = (256 - Priority) / 256              (seconds)
    Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time

VRRPv2's skew is *not* scaled by the advertisement interval, and a backup
never learns the interval: a different one is a configuration error and the
advert is dropped (RFC 3768 7.1).

RFC 5798 / RFC 9568 (VRRPv3) 6.1::

    Skew_Time            = ((256 - Priority) * Master_Adver_Interval) / 256
    Master_Down_Interval = (3 * Master_Adver_Interval) + Skew_Time

where a backup sets Master_Adver_Interval from the master's advertisements
(6.4.2).  keepalived computes the same in microseconds
(``VRRP_TIMER_SKEW``); its "minimum skew" (``VRRP_TIMER_SKEW_MIN``, used for
an instance configured ``state MASTER``) is the skew of priority 255.
"""
from __future__ import annotations

PRIORITY_OWNER = 255  # RFC 5798 5.2.4: the IP address owner
# ours (graceful handover, vrrp/fsm.py): a leaving master keeps its addresses this long past the
# new master's first advert, for requests already on their way to its MAC when the new master's
# GARP went out (seen in the lab: 1 ping of 200 lost at 0 s); far below any advert interval
HANDOVER_LINGER = 0.05
PRIORITY_STOP = 0  # RFC 5798 5.2.4: the master is leaving
DOWN_TIMER_ADVERTS = 3
# ours: a master's advert may go out this fraction of the interval late (at most), in a wake-up
# shared with the other instances' timers due by then (services/deadline.py): 255 instances at
# 1 s wake the daemon ~20 times a second, not 255.  The next is due one interval after the
# deadline, not after the late send (vrrp/fsm.py), and 5 % is far inside a backup's
# Master_Down_Interval of three intervals and a skew
ADVERT_SLACK = 0.05


def skew_time(version: int, priority: int, master_adver_interval: float) -> float:
    """Skew_Time for a router of ``priority`` (RFC 3768 6.1 / RFC 5798 6.1)."""
    if version == 2:
        return (256 - priority) / 256
    return (256 - priority) * master_adver_interval / 256


def master_down_interval(version: int, priority: int, master_adver_interval: float,
                         adverts: int = DOWN_TIMER_ADVERTS) -> float:
    """Master_Down_Interval: how long a backup waits without hearing the master; ``adverts``
    is keepalived's down_timer_adverts (the RFC's 3)."""
    return adverts * master_adver_interval + skew_time(version, priority, master_adver_interval)


def minimum_skew(version: int, master_adver_interval: float) -> float:
    """keepalived's VRRP_TIMER_SKEW_MIN: the skew of an owner, 1/256 of the unit."""
    return skew_time(version, PRIORITY_OWNER, master_adver_interval)
