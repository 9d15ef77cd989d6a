"""Staged diffs (pipeline.runs.staged_diffs): a chunk's diff rows reach the run's diff file through a file."""
from __future__ import annotations

import pickle
from pathlib import Path

import pyarrow as pa

from pipeline.rules.compiler import Rules
from pipeline.runs import staged_diffs as diffstore
from pipeline.runs.chunks import process_chunk
from pipeline.runs.diff import DIFF_SCHEMA, DiffSummary, diff_table
from pipeline.runs.plan import plan_run
from pipeline.runs.run import discover


def _rows(doc: str, n: int, start: int = 0) -> pa.Table:
    return diff_table(({"doc": doc, "change": "added", "start": i, "end": i + 2, "text": f"{i}件",
                        "value": float(i), "unit": "件", "rule": "unit.count.classifier"}
                       for i in range(start, start + n)), "run-1")


def test_staged_rows_come_back_whole_a_batch_at_a_time(tmp_path: Path) -> None:
    parts = [_rows("a.txt", 30_000), DIFF_SCHEMA.empty_table(), _rows("b.txt", 17_000, start=5)]
    staged = diffstore.stage(tmp_path, "run-1", 7, parts)
    assert staged.path == tmp_path / ".state" / "diffs" / "run-1" / "chunk-000007.arrows"
    batches = list(diffstore.batches(staged.path))
    assert max(batch.num_rows for batch in batches) <= diffstore.BATCH_ROWS
    assert pa.Table.from_batches(batches).equals(pa.concat_tables(parts))
    expected = DiffSummary()
    expected.add(pa.concat_tables(parts))
    assert staged.changes == expected and staged.changes.by_doc["b.txt"] == {"added": 17_000}
    assert [p.name for p in staged.path.parent.iterdir()] == [staged.path.name]  # no temporary left


def test_a_chunk_without_diff_rows_stages_nothing(tmp_path: Path) -> None:
    staged = diffstore.stage(tmp_path, "run-1", 0, [DIFF_SCHEMA.empty_table()])
    assert staged.path is None and staged.changes == DiffSummary()
    assert not (tmp_path / ".state").exists()


def test_clear_removes_every_runs_staged_diffs(tmp_path: Path) -> None:
    for run in ("old", "new"):
        diffstore.stage(tmp_path, run, 0, [_rows("a.txt", 3)])
    diffstore.clear(tmp_path)
    assert list((tmp_path / ".state" / "diffs").iterdir()) == []
    diffstore.clear(tmp_path / "nothing-here")  # no staging folder: nothing to do


def test_a_chunk_outcome_carries_counts_not_rows(tmp_path: Path, rules: Rules) -> None:
    """What goes back to the flow process stays small however many facts a chunk's reports have."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "long.txt").write_text("2023年，杭州市专利授权量达3.98万件，同比增长12.5%。\n" * 2_000, encoding="utf-8")
    paths, catalogue = discover(raw)
    plan = plan_run(raw, tmp_path / "out", paths, catalogue, rules.version, chunk_size=10)
    (job,) = plan.jobs
    outcome = process_chunk(job, plan.context, rules)
    assert outcome.diff.path is not None and outcome.diff.changes.added >= 4_000
    staged_rows = sum(batch.num_rows for batch in diffstore.batches(outcome.diff.path))
    assert staged_rows == outcome.diff.changes.added
    assert len(pickle.dumps(outcome)) < 10_000 < outcome.diff.path.stat().st_size
