"""Freed memory goes back to the system, so a run's peak is its largest chunk, not its history.

Allocators keep what they free. Arrow's default pool in the pyarrow wheels
(mimalloc) kept ~90 MB of freed buffers in a process that read a 40 MB
corpus's facts for the review (peak 294 MB; 207 MB with jemalloc), and
jemalloc in turn kept more at scale: writing the review of a 1 GB
run peaked at 706 MB with it and at 462 MB with the system allocator (glibc,
trimmed after each fact group), the same at 20 MB (worker peaks within
10 MB). glibc's malloc keeps freed heap pages until asked.
`lean_arrow_pool` makes Arrow allocate with the system allocator (unless
ARROW_DEFAULT_MEMORY_POOL chooses a pool) where pyarrow passes its pool; Arrow's
own C++ code (the Parquet reader's buffers) takes the pool that variable
named when pyarrow was imported, mimalloc by default, which kept 118 MB
resident in a 1 GiB reservation while the review read a 1 GB run's facts
(pool counters at 0). So the processes a run starts get the variable
(`spawn.prefer_system_allocator`: flows.py for itself, `spawn` for its
children); `release` asks both Arrow's
pool and glibc to hand back what is free now, after each chunk;
`long_lived` keeps the objects a run holds throughout out of those passes.
`keep_pandas_out` saves the ~50 MB of pandas that pyarrow loads to no use.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import importlib.abc
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pyarrow as pa

from pipeline.processes.spawn import POOL_VARIABLE


def lean_arrow_pool() -> None:
    """Make the system allocator Arrow's default pool, unless the environment picks one."""
    if os.environ.get(POOL_VARIABLE):
        return
    pool = pa.system_memory_pool()
    if pa.default_memory_pool().backend_name != pool.backend_name:
        pa.set_memory_pool(pool)


def release(cycles: bool = True) -> None:
    """Free what only reference cycles still hold, then hand freed memory back to the
    system: Arrow's pool, then glibc's heap (elsewhere a no-op). `cycles=False`
    skips the collection, for loops that make no cycles: a pass walks every
    object the process holds (~0.2 s in a process holding a 1 GB run's
    review data, 70 s over its 338 fact groups).

    A chunk's outcome reaches the flow process inside Prefect's futures, which
    refer to each other in cycles: only the cycle collector frees them, and
    it ran rarely enough that the flow process of a 1 GB run held ~1 GB of
    finished chunks' tables between its passes.
    """
    if cycles:
        gc.collect()
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@contextmanager
def long_lived() -> Iterator[None]:
    """Leave the objects alive now out of the cycle collector's passes until the block ends.

    `release` collects after every chunk. In the flow process each pass walked
    the imported modules (Prefect's among them) and the run's plan: ~0.15 s
    with 70k reports planned, ~0.3 s with the plan's members, once per chunk,
    though they live through the run anyway. Frozen, they are skipped, and
    given back to the collector at the end. A no-op inside another freeze.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on a C library without it (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


class _NoPandas(importlib.abc.MetaPathFinder):
    """Refuses pandas: see `keep_pandas_out`."""

    def find_spec(self, name: str, path: object, target: object = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError("pandas is kept out of the pipeline's processes "
                                      "(pipeline.processes.memory.keep_pandas_out)", name=name)


def keep_pandas_out() -> None:
    """Refuse to import pandas from now on in this process, unless it is loaded already.

    pyarrow imports pandas (~50 MB) the first time it builds an array or
    loads pyarrow.dataset, only to ask whether an input is a DataFrame; the
    pipeline never has one, and pyarrow and DuckDB take its absence as
    "not installed". For the processes a run starts (the flow's, its workers,
    the views): a library that imports this package keeps pandas.
    """
    if "pandas" in sys.modules or any(isinstance(finder, _NoPandas) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _NoPandas())
