"""pipeline.memory: what a run holds throughout is left out of the collector's passes, then given back."""
from __future__ import annotations

import gc

from pipeline import memory


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cycle collector frees it


def test_long_lived_objects_are_skipped_then_given_back() -> None:
    held = [Node() for _ in range(1000)]
    assert gc.get_freeze_count() == 0
    with memory.long_lived():
        frozen = gc.get_freeze_count()
        assert frozen >= len(held)
        Node()  # garbage made inside the block is still collected
        assert gc.collect() >= 1
        with memory.long_lived():  # nested: leaves the outer freeze alone
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == 0
    del held
    assert gc.collect() >= 1000  # the cycles frozen in the block are collectable again


def test_release_frees_cycles() -> None:
    Node()
    memory.release()
    assert not any(isinstance(o, Node) for o in gc.get_objects())
