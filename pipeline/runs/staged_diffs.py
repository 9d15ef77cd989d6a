"""A chunk's diff rows on their way from the process that diffed them to the run's diff file.

A chunk's diff can be every fact of its reports: a first run, or one report
near the size limit (~1M rows, ~70 MB of Arrow). Returned inside the chunk's
outcome, those rows were pickled whole in the worker and unpickled whole in
the flow process, the copies alive at once beside everything else the run
holds. Instead, the process that diffs a chunk writes its rows to an Arrow
IPC stream file, and the outcome carries only the file's path and the rows'
counts (`DiffSummary`)::

    OUTPUT/.state/diffs/<run id>/chunk-<index>.arrows

The run's writer copies such a file into the run's diff file batch by batch
and deletes it, so the flow process holds one batch of diff rows at a time.
Files are written under a temporary name and renamed. A run that publishes
or aborts removes every run's folder: its own, and what a killed run left
behind (the output lock keeps any other run from writing there meanwhile).
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from pipeline.runs.diff import DIFF_SCHEMA, DiffSummary
from pipeline.storage.paths import DIFFS_STAGE, STATE_DIR

BATCH_ROWS = 20_000  # rows per record batch of a staged file: what the reader holds at once


@dataclass(frozen=True)
class StagedDiff:
    """One chunk's diff: the file its rows wait in (None: no rows) and their counts."""

    path: Path | None = None
    changes: DiffSummary = field(default_factory=DiffSummary)


def run_folder(output: Path, run_id: str) -> Path:
    return output / STATE_DIR / DIFFS_STAGE / run_id


def stage(output: Path, run_id: str, index: int, tables: Sequence[pa.Table]) -> StagedDiff:
    """Write chunk `index`'s diff rows (DIFF_SCHEMA tables) for the run to collect."""
    parts = [table for table in tables if table.num_rows]
    if not parts:
        return StagedDiff()
    rows = pa.concat_tables(parts)  # zero-copy: a table of the parts' chunks
    changes = DiffSummary()
    changes.add(rows)
    folder = run_folder(output, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"chunk-{index:06d}.arrows"
    temporary = path.with_name(path.name + ".tmp")
    with pa.OSFile(str(temporary), "wb") as sink, pa.ipc.new_stream(sink, DIFF_SCHEMA) as writer:
        writer.write_table(rows, max_chunksize=BATCH_ROWS)
    os.replace(temporary, path)
    return StagedDiff(path, changes)


def batches(path: Path) -> Iterator[pa.RecordBatch]:
    """A staged file's rows, one record batch at a time (read, not mapped: only one is resident)."""
    with pa.OSFile(str(path)) as source, pa.ipc.open_stream(source) as reader:
        yield from reader


def clear(output: Path) -> None:
    """Remove the staged diffs of every run; only under the output lock (no run is writing there)."""
    root = output / STATE_DIR / DIFFS_STAGE
    if root.is_dir():
        for folder in root.iterdir():
            shutil.rmtree(folder, ignore_errors=True)
