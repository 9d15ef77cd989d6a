"""pipeline.processes.memory: what a run holds throughout skips the collector; pandas kept out; children get the system allocator."""
from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.processes import memory, spawn

ROOT = Path(__file__).resolve().parent.parent


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


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return done.stdout.strip()


def test_pandas_is_kept_out_and_pyarrow_still_works() -> None:
    """pyarrow.dataset loads pandas at import; once it is kept out, datasets and arrays work without it."""
    code = ("import sys; from pipeline.processes import memory; memory.keep_pandas_out(); "
            "import pyarrow as pa, pyarrow.dataset as ds; "
            "print(ds.dataset(pa.table({'a': [1, 2]})).to_table().num_rows, 'pandas' in sys.modules)")
    assert _python(code) == "2 False"
    assert _python(code.replace("memory.keep_pandas_out(); ", "")) == "2 True"  # what it saves


def test_pandas_already_loaded_is_left_alone() -> None:
    """A process that uses pandas (a test, an analyst's script) keeps it: no finder goes in."""
    code = ("import sys, pandas; from pipeline.processes import memory; memory.keep_pandas_out(); "
            "print(any(isinstance(f, memory._NoPandas) for f in sys.meta_path))")
    assert _python(code) == "False"
    assert _python(code.replace("import sys, pandas;", "import sys;")) == "True"


def test_children_start_with_the_system_allocator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Arrow's C++ code takes the pool named when pyarrow loads: the environment must say it."""
    code = "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    monkeypatch.delenv(memory.POOL_VARIABLE, raising=False)
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env=spawn.environment())
    assert child.stdout.strip() == "system"
    monkeypatch.setenv(memory.POOL_VARIABLE, "mimalloc")  # the user's choice stands
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env=spawn.environment())
    assert child.stdout.strip() == "mimalloc"
