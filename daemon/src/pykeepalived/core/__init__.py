"""Daemon plumbing: the asyncio main loop, notify scripts, runtime files."""
