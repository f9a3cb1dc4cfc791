"""Health checkers (keepalived's ``check/``): one small file per checker, plus the scheduler.

The daemon uses :class:`~pykeepalived.check.health.HealthChecker` (timers in ``scheduler``); see docs/checkers.md.
"""
