"""pipeline.runs.artifacts: what a run shows in Prefect's UI, built from real runs (no Prefect here;
tests/test_flow.py sees the same artifacts listed by `prefect artifact ls`)."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb

from pipeline.runs import artifacts
from pipeline.runs.run import run

ROOT = Path(__file__).resolve().parent.parent
ODD = "x|<b>*odd*.txt"  # a legal file name that would break a Markdown table or inject markup


def _raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("2023年，杭州市专利授权量达3.98万件，同比增长12.5%。\n", encoding="utf-8")
    (raw / "b.txt").write_text("2022年全省商标注册量284万件，居全国第3位。\n", encoding="utf-8")
    (raw / ODD).write_text("宁波市新增专利12件。\n", encoding="utf-8")
    (raw / "broken.txt").write_bytes(b"\x00\x00binary\x00")
    return raw


def test_a_first_run_shows_its_counts_changes_errors_and_review(tmp_path: Path) -> None:
    raw, out = _raw(tmp_path), tmp_path / "out"
    summary = run(raw, out, ROOT / "rules")
    shown = artifacts.artifacts(summary)

    (row,) = shown.summary
    assert {k: row[k] for k in ("seen", "extracted", "unchanged", "failed", "removed reports")} == {
        "seen": 4, "extracted": 3, "unchanged": 0, "failed": 1, "removed reports": 0}
    assert row["facts"] == summary.facts == row["added"] > 0 and row["rules version"] == summary.rules_version

    (error,) = shown.errors
    assert error["file"] == "broken.txt" and error["kind"] == "unreadable" and error["reason"]
    assert shown.review == (out / "review" / "index.html").resolve().as_uri()
    assert (out / "review" / "index.html").is_file()

    md = shown.changes
    assert md.startswith(f"# What run {summary.run_id} changed\n")
    assert f"**+{summary.facts} added, -0 removed, ~0 changed** facts" in md
    assert "## By report" in md and "## By rule" in md
    assert "| x\\|&lt;b&gt;\\*odd\\*.txt | 1 | 0 | 0 |" in md  # escaped: still one row of four cells
    assert "<b>" not in md
    first = md.split("## First ")[1].split("\n\n## ")[0].splitlines()
    assert first[0] == f"{min(summary.facts, artifacts.FIRST_ROWS)} rows"
    assert "| added | a.txt |  | 3.98万件 = 39800 件 | unit.count.classifier |" in first
    # where the full diff is: the query given reads every row of the run's diff
    (query,) = re.findall(r"```sql\n(.*?)\n```", md, re.S)
    assert duckdb.sql(query).fetchall().__len__() == summary.facts


def test_a_run_that_changed_nothing_says_so(tmp_path: Path) -> None:
    raw, out = _raw(tmp_path), tmp_path / "out"
    run(raw, out, ROOT / "rules")
    again = run(raw, out, ROOT / "rules")
    shown = artifacts.artifacts(again)
    assert shown.changes.startswith(f"# What run {again.run_id} changed\n\nNothing: the facts are those of the"
                                    f" previous run ({again.facts} facts")
    assert artifacts.diff_files(again) == []
    assert shown.summary[0]["unchanged"] == 3 and shown.summary[0]["extracted"] == 0
    assert [e["file"] for e in shown.errors] == ["broken.txt"]  # still unreadable: listed again
