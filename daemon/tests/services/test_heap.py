"""services.heap.settle: garbage is collected, not frozen; a frozen object that died is reclaimed
by a full settle, which comes once the frozen heap has grown by a quarter (or when asked)."""
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
    heap.settle(full=True)
    ref = weakref.ref(keep)
    del keep  # now garbage, but frozen: no collection looks at it
    gc.collect()
    assert ref() is not None
    heap.settle(full=True)  # a full settle unfreezes first, so replaced objects are reclaimed
    assert ref() is None


def test_a_reload_settle_walks_only_what_is_not_frozen():
    keep = Node()
    heap.settle(full=True)
    ref, young = weakref.ref(keep), cycle()
    del keep
    heap.settle()  # what the reload built is collected; the frozen heap is not walked
    assert young() is None
    assert ref() is not None


def test_a_full_settle_comes_once_the_frozen_heap_grew_by_a_quarter():
    keep = Node()
    heap.settle(full=True)
    ref = weakref.ref(keep)
    del keep
    grown = [[] for _ in range(int(gc.get_freeze_count() * heap.GROWTH))]  # long-lived objects built since
    heap.settle()
    assert ref() is None
    assert gc.get_freeze_count() >= len(grown)
