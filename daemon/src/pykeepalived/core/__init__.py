"""Orchestration: the daemon loop, the supervisor, reload, the control socket,
metrics and the config judge.  Runtime services live in ``services/``."""
