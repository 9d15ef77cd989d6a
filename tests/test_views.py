"""The views (review site, DuckDB) are built in a child process, and a failure there never sinks a run."""
from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import pipeline.views.build
from pipeline.processes import spawn
from pipeline.runs.run import run

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "a.txt").write_text("2023年，全市专利授权量达到3.98万件，同比增长12.5%。", encoding="utf-8")
    (folder / "b.txt").write_text("全省商标注册量284件。", encoding="utf-8")
    return folder


def _published_facts(output: Path) -> int:
    return pq.read_table(output / "facts").num_rows


def test_a_run_builds_its_views_in_another_process(
    raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the review was built in the run's own process")

    monkeypatch.setattr(pipeline.views.build, "write_review", refuse)  # only this process sees it
    out = tmp_path / "out"
    summary = run(raw, out, ROOT / "rules")
    assert summary.facts > 0
    assert (out / "review" / "index.html").is_file()
    reviewed = list((out / "review" / "reports").glob("*.html"))
    assert len(reviewed) == 2
    assert all(page.stat().st_nlink == 2 for page in reviewed)  # linked from the chunks' page store
    assert (out / "facts.duckdb").is_file()


def test_a_failing_view_is_logged_with_the_output_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    empty = tmp_path / "never-published"
    empty.mkdir()
    with caplog.at_level(logging.ERROR, logger="pipeline.views.build"):
        assert pipeline.views.build.write_views_apart(empty) is False
    message = caplog.text
    assert str(empty) in message
    assert "could not write the review page" in message  # the child's own log line, passed on
    assert "exited with code 1" in message


def test_a_view_process_that_dies_leaves_the_run_published(
    raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    suicide = f"import os, signal; os.kill(os.getpid(), signal.{signal.SIGKILL.name})"
    monkeypatch.setattr(spawn, "command", lambda module, *args: [sys.executable, "-c", suicide])
    out = tmp_path / "out"
    with caplog.at_level(logging.ERROR, logger="pipeline.views.build"):
        summary = run(raw, out, ROOT / "rules")
    assert f"exited with code {-signal.SIGKILL}" in caplog.text
    assert summary.facts > 0
    assert _published_facts(out) == summary.facts  # the version was switched before the views
    assert not (out / "review").exists()


def test_views_in_process_and_apart_write_the_same_review(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(raw, out, ROOT / "rules")
    apart = {p.relative_to(out / "review"): p.read_bytes() for p in (out / "review").rglob("*") if p.is_file()}
    assert pipeline.views.build.write_views(out) is True
    here = {p.relative_to(out / "review"): p.read_bytes() for p in (out / "review").rglob("*") if p.is_file()}
    assert here.keys() == apart.keys()
    differing = [path for path in here if here[path] != apart[path]]
    assert differing in ([], [Path("index.html")])  # the index may carry its build time
