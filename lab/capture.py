"""Packet captures inside a lab host: tcpdump writing a pcap, as a context manager."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from .shell import run


class Capture:
    """``with lab.capture("lb1", "eth0", "vrrp") as cap: ...`` then ``cap.lines()``."""

    def __init__(self, prefix: list[str], iface: str, filter: str, path: Path):
        self.prefix, self.iface, self.filter, self.path = prefix, iface, filter, path
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> Capture:
        # -Z root: Debian's tcpdump would drop to user tcpdump and fail to write the file.
        # --immediate-mode: else packets wait in a ring block and a quick stop loses them.
        argv = self.prefix + ["tcpdump", "-i", self.iface, "--immediate-mode", "-U", "-n", "-Z", "root",
                              "-w", str(self.path)] + self.filter.split()
        self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True)
        assert self._proc.stderr is not None
        line = self._proc.stderr.readline()  # "listening on IFACE" once the socket is open
        if "listening on" not in line:
            self._proc.wait(5)
            raise RuntimeError(f"tcpdump did not start: {line}{self._proc.stderr.read()}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)  # flushes and closes the pcap
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc and self._proc.stderr:
            self._proc.stderr.close()

    def lines(self, *tcpdump_args: str) -> list[str]:
        """The captured packets as tcpdump text lines (-nn, plus extra args, e.g. '-v')."""
        out = run(["tcpdump", "-r", str(self.path), "-nn", *tcpdump_args], check=False)
        return [line for line in out.stdout.splitlines() if line.strip()]
