"""bench/syn_timing.py: SYNs read back from a pcap file, lateness per real server."""

import importlib.util
import struct
from pathlib import Path

# loaded by path: bench/ on sys.path would shadow packages (bench/ansible.py)
_spec = importlib.util.spec_from_file_location("syn_timing", Path(__file__).resolve().parents[2] / "bench/syn_timing.py")
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
lateness, read_syns = _mod.lateness, _mod.read_syns


def syn_frame(dst: str, sport: int) -> bytes:
    """Ethernet (as on lo) + IPv4 + the first bytes of a TCP header."""
    ip = bytes([0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0]) + bytes([10, 200, 0, 1]) + bytes(map(int, dst.split(".")))
    return b"\0" * 12 + b"\x08\x00" + ip + struct.pack("!HH", sport, 8000) + b"\0" * 16


def test_pcap_round_trip(tmp_path):
    path = tmp_path / "syn.pcap"
    frames = [(100.25, "10.200.0.7", 40000), (101.5, "10.200.1.2", 40002)]
    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 96, 1)
    for ts, dst, sport in frames:
        frame = syn_frame(dst, sport)
        data += struct.pack("<IIII", int(ts), round(ts % 1 * 1e6), len(frame), len(frame)) + frame
    path.write_bytes(data)
    assert list(read_syns(path)) == frames


def test_lateness_gaps_edges_retransmits_and_silent_servers():
    syns = [(10.0, "a", 1), (11.0, "a", 2), (12.5, "a", 3), (12.6, "a", 3),  # a: 0.5 s late once; one retransmit
            (10.2, "b", 7), (11.2, "b", 8)]  # b: stops; the window ends 2.8 s after its last check
    got = lateness(syns, targets=3, delay_loop=1.0, start=10.0, end=14.0)  # c: never checked
    assert got["checks"] == 5 and got["retransmits"] == 1 and got["silent"] == 1
    assert got["targets_seen"] == 2
    assert abs(got["late_max"] - 4.0) < 1e-9  # the silent one: the whole window
    assert got["late_gt_interval"] == 2  # b's 1.8 s past the edge and c
