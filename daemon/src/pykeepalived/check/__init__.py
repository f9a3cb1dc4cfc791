"""Health checkers (keepalived's ``check/``): one small file per checker, plus the scheduler.

The daemon uses :class:`~pykeepalived.check.scheduler.HealthChecker`; see docs/checkers.md.
"""
