"""core.heap.settle: garbage is collected, not frozen; what settle froze is reclaimed after a later settle."""
from __future__ import annotations

import gc
import weakref

import pytest

from pykeepalived.services import heap


class Node:
    """A cycle: only the cyclic collector can free it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def _unfrozen():
    yield
    gc.unfreeze()  # leave the test process as we found it


def cycle() -> weakref.ref:
    return weakref.ref(Node())


def test_garbage_is_collected_not_frozen():
    dead = cycle()
    assert dead() is not None  # a cycle outlives its last reference until a collection
    heap.settle()
    assert dead() is None
    assert gc.get_freeze_count() > 0


def test_live_objects_are_frozen_and_skipped_by_collections():
    keep = Node()
    heap.settle()
    ref = weakref.ref(keep)
    del keep  # now garbage, but frozen: no collection looks at it
    gc.collect()
    assert ref() is not None
    heap.settle()  # a reload's settle unfreezes first, so replaced objects are reclaimed
    assert ref() is None
