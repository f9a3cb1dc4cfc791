"""Runtime services under the VRRP, checker and LB adapters: timerfd deadlines,
notify scripts (and who runs them), FIFOs, SMTP alerts, signals, sd_notify,
run files, the heap freeze and the log format.

Nothing here imports ``vrrp``, ``check``, ``lb`` or ``core`` (daemon/tests/test_layers.py).
"""
