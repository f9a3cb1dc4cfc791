"""One plane suite, two backends: the in-memory kernel and nftables (with a stand-in nft)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from pykeepalived.lb.backend import Backend
from pykeepalived.lb.memory import MemoryBackend
from pykeepalived.lb.table import Table

from .fake_nft import FakeNft


@dataclass
class Kernel:
    """A backend and the whole kernel view (ours plus anything foreign)."""

    backend: Backend
    view: Callable[[], Table]
    owns_table: bool  # foreign services live elsewhere (nftables: other tables)


def _memory(foreign: Table) -> Kernel:
    b = MemoryBackend(dict(foreign))
    return Kernel(b, lambda: b.table, False)


def _nft(foreign: Table) -> Kernel:
    b = FakeNft(dict(foreign))
    return Kernel(b, lambda: {**b.others, **b.dump()}, True)


@pytest.fixture(params=["memory", "nftables"])
def kernel(request) -> Callable[..., Kernel]:
    """kernel(foreign_table) -> Kernel for the parametrised backend."""
    make = _memory if request.param == "memory" else _nft
    return lambda foreign=None: make(foreign or {})
