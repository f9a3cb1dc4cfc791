"""The snapshot (core/snapshot.py): the accepted config, decoded again only where it changed."""
from __future__ import annotations

import pickle

import pytest

from pykeepalived.config.loader import loads_config
from pykeepalived.core import snapshot
from pykeepalived.core.snapshot import Decoder, SnapshotError


def vs(i: int, weight: int = 1, extra: str = "") -> str:
    return (f"virtual_server 192.0.2.{i} 80 {{\n    lb_algo wrr\n    protocol TCP\n"
            f"    real_server 198.51.100.{i} 8080 {{\n        weight {weight}\n    }}\n{extra}}}\n")


def cfg(text: str):
    config, diags = loads_config(text, "k.conf")
    assert not diags.errors, [str(e) for e in diags.errors]
    return config


def test_round_trip_and_only_changed_virtual_servers_decoded_again() -> None:
    old = cfg(vs(1) + vs(2) + vs(3))
    writer, reader = Decoder(), Decoder()  # the judge's, a child's
    first = reader.decode(writer.encode(old))
    assert first == old
    new = cfg(vs(1) + vs(2, weight=5) + vs(3) + vs(4))  # one changed, one added
    second = reader.decode(writer.encode(new))
    assert second == new
    assert second.virtual_servers[0] is first.virtual_servers[0]  # unchanged: the same object
    assert second.virtual_servers[2] is first.virtual_servers[2]
    assert second.virtual_servers[1] is not first.virtual_servers[1]
    assert second.virtual_servers[1].real_servers[0].weight == 5


def test_moved_lines_decode_again_with_their_new_locations() -> None:
    reader = Decoder()
    reader.decode(Decoder().encode(cfg(vs(1) + vs(2))))
    moved = reader.decode(Decoder().encode(cfg("\n\n" + vs(1) + vs(2))))
    assert [v.loc.line for v in moved.virtual_servers] == [3, 10]


def test_the_encoding_process_reuses_its_own_objects() -> None:
    """The parent encodes its start config: its first reload reuses what did not change."""
    parent, judge = Decoder(), Decoder()
    start = cfg(vs(1) + vs(2))
    parent.encode(start)
    got = parent.decode(judge.encode(cfg(vs(1) + vs(2, weight=3))))
    assert got.virtual_servers[0] is start.virtual_servers[0]


def test_save_load_and_refusals(tmp_path) -> None:
    config = cfg(vs(1))
    snapshot.save(tmp_path, config)
    assert oct(snapshot.snapshot_path(tmp_path).stat().st_mode & 0o777) == "0o600"
    assert snapshot.load(tmp_path) == config
    blob = pickle.dumps(("0.0.0-other", b"", []))
    snapshot.save_encoded(tmp_path, blob)
    with pytest.raises(SnapshotError, match="written by pykeepalived 0.0.0-other"):
        snapshot.load(tmp_path)
    snapshot.save_encoded(tmp_path, b"garbage")
    with pytest.raises(SnapshotError, match="cannot read the last good configuration"):
        snapshot.load(tmp_path)
    snapshot.remove(tmp_path)
    with pytest.raises(SnapshotError, match="cannot read"):
        snapshot.load(tmp_path)
