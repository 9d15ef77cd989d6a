"""Run history: the runs, errors and diffs tables that every version carries.

    OUTPUT/runs/    one row per run (the whole history, rewritten each run: tiny)
    OUTPUT/errors/  one file per run that had unreadable or crashed reports
    OUTPUT/diffs/   one file per run that changed a fact (see pipeline.runs.diff)

They live in the version folder like the facts, so a run killed at any moment
leaves the history as it was before or after, never half-written. Earlier
runs' errors and diffs files are hard-linked into the new version (the last
HISTORY_RUNS of them); each keeps the run id in its name.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.records import ReadError
from pipeline.storage.parquet import write_file
from pipeline.storage.paths import ERRORS_DIR, RUNS_DIR
from pipeline.storage.versions import StagedOutput

HISTORY_RUNS = 200  # errors and diffs files kept; the runs table keeps every run

RUNS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("started", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("finished", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("rules_version", pa.string(), nullable=False),
        pa.field("seen", pa.int64(), nullable=False),  # reports found under raw
        pa.field("extracted", pa.int64(), nullable=False),  # read and extracted this run
        pa.field("skipped", pa.int64(), nullable=False),  # unchanged: facts carried over
        pa.field("failed", pa.int64(), nullable=False),  # unreadable or crashed
        pa.field("facts", pa.int64(), nullable=False),  # facts in the output after the run
        pa.field("added", pa.int64(), nullable=False),
        pa.field("removed", pa.int64(), nullable=False),
        pa.field("changed", pa.int64(), nullable=False),
    ],
    metadata={"schema_version": "1"},
)

ERRORS_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("file", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
    ],
    metadata={"schema_version": "1"},
)


@dataclass(frozen=True)
class RunRecord:
    """One row of the runs table."""

    run_id: str
    started: datetime
    finished: datetime
    rules_version: str
    seen: int
    extracted: int
    skipped: int
    failed: int
    facts: int
    added: int
    removed: int
    changed: int


def _files(version: Path | None, name: str) -> list[Path]:
    if version is None or not (version / name).is_dir():
        return []
    return sorted((version / name).glob("*.parquet"))


def read_runs(version: Path | None) -> pa.Table:
    """The runs table of a version (empty before the first run)."""
    files = _files(version, RUNS_DIR)
    if not files:
        return RUNS_SCHEMA.empty_table()
    return pa.concat_tables(pq.read_table(f).cast(RUNS_SCHEMA) for f in files)


def write_runs(staged: StagedOutput, previous: Path | None, record: RunRecord) -> None:
    """The previous runs plus this one, as one file of the new version."""
    row = pa.Table.from_pylist([asdict(record)], schema=RUNS_SCHEMA)
    table = pa.concat_tables([read_runs(previous), row])
    write_file(staged.folder(RUNS_DIR) / f"runs-{staged.version}.parquet", table, RUNS_SCHEMA,
               staged.rules_version)


def errors_table(run_id: str, errors: Iterable[ReadError]) -> pa.Table:
    rows = [{"run_id": run_id, "file": e.file, "reason": e.reason} for e in errors]
    return pa.Table.from_pylist(rows, schema=ERRORS_SCHEMA)


def write_errors(staged: StagedOutput, previous: Path | None, errors: Sequence[ReadError]) -> None:
    """Carry earlier runs' error files, add this run's (an empty one only for the first)."""
    carried = carry(staged, previous, ERRORS_DIR)
    if errors or not carried:
        write_file(staged.folder(ERRORS_DIR) / f"errors-{staged.version}.parquet",
                   errors_table(staged.version, errors), ERRORS_SCHEMA, staged.rules_version)


def carry(staged: StagedOutput, previous: Path | None, name: str) -> int:
    """Hard-link the newest HISTORY_RUNS files of folder `name` from the previous version."""
    files = _files(previous, name)[-HISTORY_RUNS:]
    for path in files:
        staged.link(name, path)
    return len(files)
