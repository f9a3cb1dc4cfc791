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
    index = snapshot.snapshot_path(tmp_path)
    index.write_bytes(pickle.dumps(("0.0.0-other", b"", [])))
    with pytest.raises(SnapshotError, match="written by pykeepalived 0.0.0-other"):
        snapshot.load(tmp_path)
    index.write_bytes(b"garbage")
    with pytest.raises(SnapshotError, match="cannot read the last good configuration"):
        snapshot.load(tmp_path)
    snapshot.remove(tmp_path)
    with pytest.raises(SnapshotError, match="cannot read"):
        snapshot.load(tmp_path)


def test_children_without_virtual_servers_read_no_blob(tmp_path) -> None:
    """The VRRP and BFD children load the snapshot without its virtual servers: not one blob is
    read (here there are none left to read), the rest of the config is whole."""
    config = cfg("vrrp_instance VI_1 {\n    interface lo\n    virtual_router_id 1\n    priority 100\n"
                 "    virtual_ipaddress {\n        192.0.2.100/32\n    }\n}\n" + vs(1) + vs(2))
    snapshot.save(tmp_path, config)
    for blob in (tmp_path / snapshot.BLOBS_NAME).iterdir():
        blob.unlink()
    got = snapshot.load(tmp_path, servers=False)
    assert got.virtual_servers == () and got.vrrp_instances == config.vrrp_instances
    with pytest.raises(SnapshotError, match="blob"):
        snapshot.load(tmp_path)


def test_a_reload_moves_and_writes_only_the_blobs_that_changed(tmp_path) -> None:
    """The judge (forked from the parent) sends the blobs the parent lacks; the parent writes
    those and the index, and removes what the index no longer names; a child reads only the
    blobs it lacks."""
    parent, child = snapshot.DECODER, Decoder()
    parent.known, parent.blobs = {}, {}
    snapshot.remove(tmp_path)
    snapshot.save(tmp_path, cfg(vs(1) + vs(2) + vs(3)))
    blob_dir = tmp_path / snapshot.BLOBS_NAME
    before = {p.name: p.stat().st_ino for p in blob_dir.iterdir()}
    assert len(before) == 3 and all(oct(p.stat().st_mode & 0o777) == "0o600" for p in blob_dir.iterdir())
    start = child.assemble(*pickle.loads(snapshot.snapshot_path(tmp_path).read_bytes()),
                           lambda d: (blob_dir / d.hex()).read_bytes(), "test")
    judge = Decoder()
    judge.known, judge.blobs = dict(parent.known), dict(parent.blobs)  # what a fork inherits
    sent = judge.encode(cfg(vs(1) + vs(2, weight=9) + vs(3)), only_new=True)
    assert len(pickle.loads(sent)[3]) == 1  # one blob through the pipe
    parent.decode(sent, "judge", keep_blobs=True)
    snapshot.save_encoded(tmp_path, sent)
    after = {p.name: p.stat().st_ino for p in blob_dir.iterdir()}
    assert len(after) == 3 and len(after.keys() - before.keys()) == 1
    assert all(after[n] == before[n] for n in after.keys() & before.keys())  # not written again
    read = []
    got = child.assemble(*pickle.loads(snapshot.snapshot_path(tmp_path).read_bytes()),
                         lambda d: read.append(d) or (blob_dir / d.hex()).read_bytes(), "test")
    assert len(read) == 1 and got.virtual_servers[1].real_servers[0].weight == 9
    assert got.virtual_servers[0] is start.virtual_servers[0]
    snapshot.remove(tmp_path)
    assert not blob_dir.exists()


def test_a_blob_the_receiver_does_not_hold_is_an_error_not_a_guess() -> None:
    sent = Decoder().encode(cfg(vs(1) + vs(2)))
    version, head, digests, blobs = pickle.loads(sent)
    with pytest.raises(SnapshotError, match="blob is missing"):
        Decoder().decode(pickle.dumps((version, head, digests, {})), "judge")


@pytest.mark.parametrize("keep_blobs", [False, True])  # a child's decode, the parent's
def test_a_decode_unpickles_the_envelope_and_the_changed_blob_only(monkeypatch, keep_blobs: bool) -> None:
    writer, reader = Decoder(), Decoder()
    reader.decode(writer.encode(cfg(vs(1) + vs(2) + vs(3))), keep_blobs=keep_blobs)
    data = writer.encode(cfg(vs(1) + vs(2, weight=7) + vs(3)), only_new=keep_blobs)
    loaded = []
    real = pickle.loads
    monkeypatch.setattr(pickle, "loads", lambda raw: loaded.append(len(raw)) or real(raw))
    got = reader.decode(data, keep_blobs=keep_blobs)
    assert len(loaded) == 2 and got.virtual_servers[1].real_servers[0].weight == 7
    assert not keep_blobs or len(reader.blobs) == 3  # the parent keeps every blob it names (it writes them)
