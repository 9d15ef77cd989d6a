"""The views record the version they were built from, and a run rebuilds them when it differs (issue 17)."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from stand_in import count_facts, use_extractor

import pipeline.rules.compiler
import pipeline.runs.run
from pipeline.runs.run import run
from pipeline.views.version import database_record, published, recorded, review_record


@pytest.fixture()
def views_built(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Stand-in rules and extractor; the outputs whose views a run built, in order."""
    monkeypatch.setattr(pipeline.rules.compiler, "load_rules", lambda rules_dir: SimpleNamespace(version="rv"))
    use_extractor(monkeypatch, count_facts)
    built: list[Path] = []
    real = pipeline.runs.run.write_views_apart
    monkeypatch.setattr(pipeline.runs.run, "write_views_apart", lambda output: built.append(output) or real(output))
    return built


@pytest.fixture()
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "a.txt").write_text("新增商标12件。", encoding="utf-8")
    return folder


def _reviewed(output: Path) -> str:
    return (output / "review" / "data" / "reports.js").read_text(encoding="utf-8")


def test_both_views_record_the_published_version(views_built: list[Path], raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(raw, out, tmp_path / "rules")
    now = published(out)
    assert now is not None and now.version == (out / "current").resolve().name
    assert recorded(review_record(out)) == now == recorded(database_record(out))
    with duckdb.connect(str(out / "facts.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT version, content FROM output_version").fetchall() == [
            (now.version, now.content)]


def test_a_run_with_nothing_new_keeps_views_that_are_up_to_date(
    views_built: list[Path], raw: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run(raw, out, tmp_path / "rules")
    first = json.loads(review_record(out).read_text(encoding="utf-8"))
    run(raw, out, tmp_path / "rules")
    assert views_built == [out]  # the second run published the same content: nothing to rebuild
    assert published(out) is not None and published(out).version != first["version"]  # type: ignore[union-attr]
    assert recorded(review_record(out)).content == published(out).content  # type: ignore[union-attr]


def test_views_left_behind_by_a_killed_run_are_rebuilt_by_the_next(
    views_built: list[Path], raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed after switching versions, before its views: later runs with nothing new never rebuilt them."""
    out = tmp_path / "out"
    run(raw, out, tmp_path / "rules")
    (raw / "b.txt").write_text("专利7件。", encoding="utf-8")
    real = pipeline.runs.run.write_views_apart
    monkeypatch.setattr(pipeline.runs.run, "write_views_apart", lambda output: False)  # the run dies here
    run(raw, out, tmp_path / "rules")
    assert "b.txt" not in _reviewed(out)
    monkeypatch.setattr(pipeline.runs.run, "write_views_apart", real)

    summary = run(raw, out, tmp_path / "rules")

    assert summary.extracted == 0 and summary.gone == 0
    assert "b.txt" in _reviewed(out)
    assert recorded(review_record(out)) == published(out) == recorded(database_record(out))


def test_a_view_that_did_not_record_the_version_is_rebuilt(views_built: list[Path], raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(raw, out, tmp_path / "rules")
    database_record(out).unlink()  # as a DuckDB build that failed, or a database from before records
    run(raw, out, tmp_path / "rules")
    assert views_built == [out, out]
    assert recorded(database_record(out)) == published(out)
